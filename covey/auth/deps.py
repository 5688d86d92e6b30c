"""Typed dependencies: what a management handler receives, and the permission its signature declares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from covey.auth import authority, repository
from covey.auth.caller import Caller
from covey.kit.clock import utcnow
from covey.kit.crypto import hash_secret
from covey.kit.errors import Forbidden, Unauthorized
from covey.state import get_db

_LEVELS = {"none": 0, "read": 1, "write": 2}


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on any error."""
    with get_db(request).transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def authenticate(request: Request, session: SessionDep) -> Caller:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Unauthorized")
    found = repository.key_and_owner(session, hash_secret(token))
    now = utcnow()
    if found is None:
        raise Unauthorized("Invalid authorization token")
    key, owner = found
    if key.revoked_at is not None or key.is_expired(now):
        raise Unauthorized("Invalid authorization token")
    if not owner.active:
        raise Forbidden("Invalid authorization token")
    return authority.key_caller(session, key, owner)


def require_manage(level: str) -> Callable[[Caller], Caller]:
    def _check(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if _LEVELS[caller.key_manage] < _LEVELS[level]:
            raise Forbidden(f"manage {level} permission required")
        return caller

    return _check


AnyCaller = Annotated[Caller, Depends(authenticate)]
ManageRead = Annotated[Caller, Depends(require_manage("read"))]
ManageWrite = Annotated[Caller, Depends(require_manage("write"))]
