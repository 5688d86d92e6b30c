"""The control plane's door, in plain ASGI ahead of FastAPI (docs/design.md §7: every body is bounded before
it is parsed). A management or SCIM request whose bearer credential Covey does not know is refused
from its headers, before a byte of its body is read; then every control-plane body (management API,
SCIM, admin panel forms) is read up to `max_control_body_bytes` and refused with 413 past it. The
handlers behind it authenticate in full as before; this only keeps strangers from making Covey read.
The gateway bounds its own bodies, after checking the key against its snapshot."""

from __future__ import annotations

import anyio
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from covey.auth import repository
from covey.config import Settings
from covey.gateway.asgi import BodyTooLarge, ClientGone, read_body
from covey.kit.clock import utcnow
from covey.kit.crypto import hash_secret
from covey.kit.db import Database
from covey.kit.error_handlers import error_response
from covey.scim import errors as scim_errors
from covey.scim import repository as scim_repo

MANAGE_PREFIX = "/v1/manage/"
SCIM_PREFIX = "/scim/v2/"
PANEL_PREFIX = "/admin/"


def _bearer(scope: Scope) -> str | None:
    """The credential as `deps.bearer_token` reads it: `Authorization: Bearer …` or `x-api-key`."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in (b"authorization", b"x-api-key"):
            found.setdefault(name, value)
    scheme, _, token = found.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return found[b"x-api-key"].decode("latin-1") if found.get(b"x-api-key") else None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _known_key(session: Session, token: str) -> bool:
    found = repository.key_and_owner(session, hash_secret(token))
    if found is None:
        return False
    key, owner = found
    return key.revoked_at is None and not key.is_expired(utcnow()) and owner.active


def _known_scim_token(session: Session, token: str) -> bool:
    found = scim_repo.token_by_hash(session, token_hash=hash_secret(token))
    return found is not None and found.revoked_at is None


def _refusal(path: str, status: int, message: str) -> Response:
    if path.startswith(SCIM_PREFIX):
        return scim_errors.error_response(status, message)
    return error_response(status, message)


class ControlPlaneGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith((MANAGE_PREFIX, SCIM_PREFIX, PANEL_PREFIX)):
            await self.app(scope, receive, send)
            return
        state = scope.get("state") or {}
        settings: Settings = state["settings"]
        db: Database = state["db"]
        refusal = await self._unknown_credential(path, scope, db)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit = settings.max_control_body_bytes
        try:
            body = await read_body(receive, limit, _declared_length(scope))
        except BodyTooLarge:
            await _refusal(path, 413, f"Request body too large (limit {limit} bytes)")(scope, receive, send)
            return
        except ClientGone:
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _unknown_credential(path: str, scope: Scope, db: Database) -> Response | None:
        if path.startswith(PANEL_PREFIX):
            return None  # signed-in sessions are checked by the panel; its bodies are bounded all the same
        token = _bearer(scope)
        is_scim = path.startswith(SCIM_PREFIX)
        if token is None:
            return _refusal(path, 401, "A SCIM bearer token is required" if is_scim else "Unauthorized")
        check = _known_scim_token if is_scim else _known_key

        def look_up() -> bool:
            with db.sessions() as session:
                return check(session, token)

        if await anyio.to_thread.run_sync(look_up):
            return None
        return _refusal(path, 401, "Invalid SCIM token" if is_scim else "Invalid authorization token")


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, handed on as one message; then the connection's own messages."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
