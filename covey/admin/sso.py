"""Sign-in through the organization's identity provider: a plain link to `/admin/sso/{org}` answers
302 to the issuer (a form POST redirected across origins would break the page's `form-action 'self'`),
and the issuer sends the browser back to `/admin/sso/callback`. The state also rides in a cookie, so
a callback opened in another browser than the one that started the sign-in is refused."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from covey.admin import signin
from covey.admin.account import safe_next, sign_in_page
from covey.admin.web import PREFIX, SESSION_COOKIE, PanelRoute, redirect, seal, secret_of, set_cookie, unseal
from covey.auth.deps import SessionDep
from covey.config import Settings
from covey.kit.clock import utcnow
from covey.sso import signin as sso
from covey.sso.schemas import CALLBACK_PATH
from covey.state import IssuersDep, SettingsDep

router = APIRouter(route_class=PanelRoute)

STATE_COOKIE = "covey_sso_state"


def redirect_uri(request: Request, settings: Settings) -> str:
    base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return base + CALLBACK_PATH


@router.get("/sso/callback", include_in_schema=False)
def callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    issuers: IssuersDep,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
) -> Response:
    secret = secret_of(settings)
    started = unseal(secret, request.cookies.get(STATE_COOKIE)) or ""
    if not state or not hmac.compare_digest(started, state):
        response = sign_in_page(
            request, session, status=400, error="This sign-in was not started in this browser: start again."
        )
        response.delete_cookie(STATE_COOKIE, path=PREFIX)
        return response
    try:
        done = sso.finish(
            session,
            issuers,
            state=state[:200],
            code=(code or "")[:2000] or None,
            error=(error or "")[:200] or None,
            redirect_uri=redirect_uri(request, settings),
            now=utcnow(),
        )
    except sso.SignInRefused as exc:
        response = sign_in_page(request, session, status=exc.status, error=exc.message)
        response.delete_cookie(STATE_COOKIE, path=PREFIX)
        return response
    token = signin.open_session(session, done.user, now=utcnow())
    response = redirect(request, safe_next(done.next))
    set_cookie(
        request, response, SESSION_COOKIE, seal(secret, token), max_age=int(signin.SESSION_LIFETIME.total_seconds())
    )
    response.delete_cookie(STATE_COOKIE, path=PREFIX)
    return response


@router.get("/sso/{org_id}", include_in_schema=False)
def begin(
    request: Request,
    org_id: str,
    session: SessionDep,
    settings: SettingsDep,
    issuers: IssuersDep,
    next: str | None = None,
) -> Response:
    try:
        url, state = sso.start(
            session,
            issuers,
            org_id=org_id[:64],
            redirect_uri=redirect_uri(request, settings),
            next=safe_next(next),
            now=utcnow(),
        )
    except sso.SignInRefused as exc:
        return sign_in_page(request, session, status=exc.status, error=exc.message)
    response = RedirectResponse(url, status_code=302)
    set_cookie(
        request,
        response,
        STATE_COOKIE,
        seal(secret_of(settings), state),
        max_age=int(sso.LOGIN_LIFETIME.total_seconds()),
    )
    return response
