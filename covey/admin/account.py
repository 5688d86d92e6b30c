"""Signing in and out, the stylesheet and script, and a member's own page (and own password)."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, Response

from covey.admin import repository, signin, spend
from covey.admin.web import (
    PREFIX,
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    PanelDep,
    PanelRoute,
    page,
    redirect,
    seal,
    secret_of,
    set_cookie,
    unseal,
)
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.keys import service as keys
from covey.kit.clock import utcnow
from covey.kit.errors import BadRequest
from covey.sso import repository as sso_repository
from covey.state import SettingsDep
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)

STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}


def safe_next(target: str | None) -> str:
    # Only a path of this panel: never an address elsewhere (an open redirect).
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    path = STATIC / name
    if path.suffix not in _STATIC_TYPES or name not in {p.name for p in STATIC.iterdir()}:
        return Response("Not found", status_code=404)
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


def sign_in_page(
    request: Request,
    session: Session,
    *,
    next: str | None = None,
    status: int = 200,
    error: str | None = None,
    email: str | None = None,
) -> Response:
    """The sign-in form, with a button for each organization that signs in through its identity provider.

    Every showing carries a new form token, good for one try: reloading the page a failed try answered
    sends the used token again and is refused before it counts as another failed sign-in."""
    form_token = secrets.token_urlsafe(24)
    target = safe_next(next)
    offered = [
        (f"{PREFIX}/sso/{org.id}?{urlencode({'next': target})}", sso.label or org.name)
        for org, sso in sso_repository.offered(session)
    ]
    response = page(
        request,
        None,
        "sign_in.html",
        status=status,
        next=target,
        form_token=form_token,
        sso=offered,
        error=error,
        email=email,
    )
    set_cookie(request, response, SIGNIN_CSRF_COOKIE, form_token, max_age=3600)
    return response


@router.get("/sign-in", include_in_schema=False)
def sign_in_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    return sign_in_page(request, session, next=next)


@router.post("/sign-in", include_in_schema=False)
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = PREFIX + "/",
) -> Response:
    # Before a session exists, the form proves it came from our page by echoing a cookie it was given.
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return sign_in_page(
            request,
            session,
            next=next,
            status=403,
            error="This form expired or was not sent from the sign-in page. Please try again.",
            email=email,
        )
    client = request.client.host if request.client else ""
    result = signin.sign_in(session, email=email, password=password, client=client, now=utcnow())
    if result.token is None:
        return sign_in_page(request, session, next=next, status=result.status, error=result.error, email=email)
    response = redirect(request, safe_next(next))
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        seal(secret_of(settings), result.token),
        max_age=int(signin.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out", include_in_schema=False)
def sign_out(request: Request, panel: PanelDep, session: SessionDep, settings: SettingsDep) -> Response:
    token = unseal(secret_of(settings), request.cookies.get(SESSION_COOKIE))
    if token:
        signin.sign_out(session, token=token)
    response = redirect(request, PREFIX + "/sign-in", "Signed out.")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/me", include_in_schema=False)
def me(request: Request, panel: PanelDep, session: SessionDep) -> Response:
    """What every signed-in person may see: their groups, their keys and their own spend."""
    caller = panel.caller
    month = spend.current_month(panel.org.timezone, utcnow())
    mine = groups.tree(session, caller)
    my_groups = users.groups_of(session, caller, caller.user_id)
    my_keys = keys.present(session, caller, keys.list_visible(session, caller, owner_id=caller.user_id))
    by_key = repository.by_key(session, org_id=caller.org_id, month=month)
    spent = repository.by_user(session, org_id=caller.org_id, month=month).get(caller.user_id, 0)
    return page(
        request,
        panel,
        "me.html",
        groups=my_groups,
        tree=mine,
        keys=my_keys,
        key_spend=by_key,
        spent=spent,
        month=month,
    )


@router.post("/me/password", include_in_schema=False)
def change_password(
    request: Request,
    panel: PanelDep,
    session: SessionDep,
    settings: SettingsDep,
    current_password: Annotated[str, Form(max_length=1000)],
    new_password: Annotated[str, Form(max_length=1000)],
    repeat_password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Your own password, the current one required. Every other panel session of yours ends; this
    browser stays signed in with a new session."""
    if new_password != repeat_password:
        raise BadRequest("The two new passwords differ: type the same one twice.")
    user = users.change_own_password(session, panel.caller, current=current_password, new=new_password)
    response = redirect(request, PREFIX + "/me", "Changed your password. You are signed out everywhere else.")
    token = signin.open_session(session, user, now=utcnow())
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        seal(secret_of(settings), token),
        max_age=int(signin.SESSION_LIFETIME.total_seconds()),
    )
    return response
