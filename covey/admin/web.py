"""The panel's plumbing: the signed session cookie, CSRF checks, the signed-in `Panel` a route receives,
page rendering with one-shot notices and secrets shown once, and one place that turns refusals into
pages or JSON.

Every change answers with a redirect (post/redirect/get), so reloading the page it lands on repeats
nothing. A secret made by a change (a key, a password, a webhook's signing secret) travels to that page
in a short-lived cookie signed for the session and addressed to that page, which shows it and drops it:
never in a URL, never shown twice."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from covey.admin import signin
from covey.admin.formatting import FILTERS
from covey.admin.wording import plain_errors
from covey.auth.caller import Caller
from covey.auth.deps import SessionDep
from covey.config import Settings
from covey.kit.clock import utcnow
from covey.kit.crypto import sign
from covey.kit.error_handlers import error_body
from covey.kit.errors import CoveyError, Forbidden
from covey.models import Organization, User
from covey.orgs import repository as orgs_repo
from covey.state import SettingsDep

SESSION_COOKIE = "covey_session"
SIGNIN_CSRF_COOKIE = "covey_signin_csrf"
NOTICE_COOKIE = "covey_notice"
ONCE_COOKIE = "covey_once"
ONCE_MAX_AGE = 300
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PREFIX = "/admin"

# Without a configured `secret_key`, sessions are signed with a key that lives as long as the process.
_PROCESS_SECRET = secrets.token_hex(32)

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters.update(FILTERS)
# A value that is not there (a person without an email, …) shows as nothing, not as "None".
templates.env.finalize = lambda value: "" if value is None else value


def secret_of(settings: Settings) -> str:
    return settings.secret_key or _PROCESS_SECRET


def seal(secret: str, token: str) -> str:
    return f"{token}.{sign(secret, b'session:' + token.encode())}"


def unseal(secret: str, value: str | None) -> str | None:
    token, _, mac = (value or "").rpartition(".")
    if not token or not hmac.compare_digest(mac, sign(secret, b"session:" + token.encode())):
        return None
    return token


def csrf_for(secret: str, token: str) -> str:
    return sign(secret, b"csrf:" + token.encode())


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="lax", secure=is_https(request)
    )


class SignInRequired(Exception):
    """No live session: pages send the browser to the sign-in form."""


class CsrfRefused(Forbidden):
    pass


@dataclass(frozen=True)
class Panel:
    """Who is signed in, as the services see them."""

    caller: Caller
    user: User
    org: Organization
    csrf: str
    # Signs what is shown once (see `show_once`): bound to this session, unknown to the page.
    once_key: str

    @property
    def is_org_admin(self) -> bool:
        return self.caller.scope.is_org_admin

    @property
    def is_admin(self) -> bool:
        """Org admins, and group admins (for their subtrees), may open the admin pages."""
        return self.caller.scope.is_org_admin or bool(self.caller.scope.admin_groups)


async def sent_csrf(request: Request) -> str:
    """The CSRF token a change carries: in a header (fetch calls) or a form field (forms)."""
    if request.method in ("GET", "HEAD"):
        return ""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent or ""


def current_panel(
    request: Request, session: SessionDep, settings: SettingsDep, sent: Annotated[str, Depends(sent_csrf)]
) -> Panel:
    # Synchronous on purpose: FastAPI runs it in a worker thread, so its SQL never blocks the event
    # loop the gateway shares.
    # Kept so that a refusal can roll the request's changes back (see PanelRoute).
    request.state.panel_session = session
    secret = secret_of(settings)
    token = unseal(secret, request.cookies.get(SESSION_COOKIE))
    user = signin.resolve(session, token=token, now=utcnow()) if token else None
    if token is None or user is None:
        raise SignInRequired()
    csrf = csrf_for(secret, token)
    if request.method not in ("GET", "HEAD") and not hmac.compare_digest(sent, csrf):
        raise CsrfRefused("Missing or wrong CSRF token: reload the page and try again.")
    org = orgs_repo.get(session, user.org_id)
    assert org is not None  # users cascade with their organization
    return Panel(
        caller=signin.caller_for(session, user),
        user=user,
        org=org,
        csrf=csrf,
        once_key=sign(secret, b"once:" + token.encode()),
    )


PanelDep = Annotated[Panel, Depends(current_panel)]


def require_admin(panel: PanelDep) -> Panel:
    if not panel.is_admin:
        raise Forbidden("This page is for administrators: org admins, and group admins for their groups.")
    return panel


def require_org_admin(panel: PanelDep) -> Panel:
    panel.caller.require_org_admin("This page")
    return panel


AdminDep = Annotated[Panel, Depends(require_admin)]
OrgAdminDep = Annotated[Panel, Depends(require_org_admin)]


# --- answers ---------------------------------------------------------------------------------------


def _take_notice(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return None
    try:
        notice = json.loads(unquote(raw))
    except json.JSONDecodeError:
        return None
    if not isinstance(notice, dict) or not isinstance(notice.get("text"), str):
        return None
    return {"kind": "error" if notice.get("kind") == "error" else "ok", "text": notice["text"]}


# Pages load only the panel's own script and styles, and no other site may frame them (drag and drop
# is a click target worth protecting).
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _once_mac(panel: Panel, body: str) -> str:
    return sign(panel.once_key, body.encode())


def show_once(request: Request, response: Response, panel: Panel, *, to: str, **fields: str) -> Response:
    """Hands `fields` (a new secret and what names it) to the page at `to`, which shows them once."""
    body = base64.urlsafe_b64encode(json.dumps({"to": to, **fields}).encode()).decode().rstrip("=")
    set_cookie(request, response, ONCE_COOKIE, f"{body}.{_once_mac(panel, body)}", max_age=ONCE_MAX_AGE)
    return response


def _take_once(request: Request, panel: Panel | None) -> dict[str, str] | None:
    """What `show_once` left for this page and this session, if anything."""
    body, _, mac = request.cookies.get(ONCE_COOKIE, "").rpartition(".")
    if panel is None or not body or not hmac.compare_digest(mac, _once_mac(panel, body)):
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, json.JSONDecodeError):
        return None
    if not isinstance(fields, dict) or fields.pop("to", None) != request.url.path:
        return None
    return {str(k): str(v) for k, v in fields.items()}


def page(request: Request, panel: Panel | None, name: str, *, status: int = 200, **context: Any) -> Response:
    notice = _take_notice(request)
    once = _take_once(request, panel)
    response = templates.TemplateResponse(
        request,
        name,
        {"panel": panel, "notice": notice, "path": request.url.path, "once": once, **context},
        status_code=status,
    )
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path=PREFIX)
    if once is not None:
        response.delete_cookie(ONCE_COOKIE, path=PREFIX)
    response.headers.update(_PAGE_HEADERS)
    return response


def redirect(request: Request, to: str, notice: str | None = None, *, kind: str = "ok") -> Response:
    response = RedirectResponse(to, status_code=303)
    if notice:
        set_cookie(request, response, NOTICE_COOKIE, quote(json.dumps({"kind": kind, "text": notice})), max_age=60)
    return response


def back_to(request: Request, default: str = PREFIX + "/") -> str:
    """Where a form came from, if it was a panel page of this server."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return default
    if referer.path.startswith(PREFIX + "/") and referer.path != PREFIX + "/sign-in":
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return default


def wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch" or "application/json" in request.headers.get("accept", "")


def _describe(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, CoveyError):
        return exc.status_code, exc.message
    if isinstance(exc, RequestValidationError):
        return 400, plain_errors(exc.errors())
    if isinstance(exc, ValidationError):
        return 400, plain_errors(exc.errors())
    return 409, "Conflicts with an existing object"


def _refusal(request: Request, exc: Exception) -> Response:
    status, message = _describe(exc)
    if wants_json(request):
        return JSONResponse(error_body(status, message), status_code=status)
    if request.method == "POST" and not isinstance(exc, CsrfRefused):
        return redirect(request, back_to(request), message, kind="error")
    return page(request, None, "error.html", status=status, status_code=status, message=message)


def _to_sign_in(request: Request) -> Response:
    if wants_json(request):
        return JSONResponse(error_body(401, "Sign in first"), status_code=401)
    target = request.url.path if request.method == "GET" else PREFIX + "/"
    return RedirectResponse(f"{PREFIX}/sign-in?next={quote(target)}", status_code=303)


class PanelRoute(APIRoute):
    """Refusals from the services (and bad input) reach a person as a page or a notice, not raw JSON.

    The handler wrapped here runs inside the request's dependency scope, so a refusal caught here would
    otherwise let the session dependency commit: roll back first, so that a bulk change refused
    part-way changes nothing."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return _to_sign_in(request)
            except (CoveyError, RequestValidationError, ValidationError, IntegrityError) as exc:
                session = getattr(request.state, "panel_session", None)
                if session is not None:
                    await run_in_threadpool(session.rollback)
                return _refusal(request, exc)

        return run
