"""API keys: list, create (the secret is shown once, on the page the creation redirects to), change
the limit, labels and expiry, revoke. Members see and make only their own keys (the service decides).
An expired key keeps its menu: its expiry can be moved on, or it can be revoked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from covey.admin import grouping, repository, spend
from covey.admin.forms import blank_to_none, parse_day
from covey.admin.web import PREFIX, Panel, PanelDep, PanelRoute, page, redirect, show_once
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.keys import service as keys
from covey.keys.schemas import KeyCreate, KeyExpiry, KeyLabels, KeyLimit
from covey.kit.clock import utcnow
from covey.kit.errors import BadRequest
from covey.kit.pagination import MAX_LIMIT, Page
from covey.models import User
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)


def parse_labels(text: str) -> dict[str, str]:
    """`team=search, env=prod` (or one per line)."""
    labels: dict[str, str] = {}
    for part in text.replace("\n", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise BadRequest(f"labels: {part.strip()!r} is not name=value")
        labels[name.strip()] = value.strip()
    return labels


def parse_expiry(text: str) -> datetime | None:
    """A key's expiry from the create or the edit form: a day after today (UTC), or none. A past day
    would stop the key at once; revoking says that plainly."""
    expires = parse_day(text, "Expires on")
    if expires is not None and expires <= utcnow():
        raise BadRequest("Expires on: pick a day after today (UTC). To stop a key now, revoke it.")
    return expires


def _keys_page(request: Request, panel: Panel, session: Any, *, show_revoked: bool = False) -> Response:
    caller = panel.caller
    rows = keys.list_visible(session, caller, include_revoked=show_revoked)
    month = spend.current_month(panel.org.timezone, utcnow())
    visible = groups.list_visible(session, caller)
    owners: list[User] = []
    if panel.is_admin:
        owners, _ = users.search(
            session, caller, q=None, role=None, status="active", group_id=None, page=Page(limit=MAX_LIMIT, offset=0)
        )
    return page(
        request,
        panel,
        "keys.html",
        keys=keys.present(session, caller, rows),
        key_spend=repository.by_key(session, org_id=caller.org_id, month=month),
        group_names={g.id: g.name for g in visible},
        groups=grouping.choices(visible, among={g.id for g in visible}),
        owners=owners,
        show_revoked=show_revoked,
        month=month,
        tomorrow=(utcnow().date() + timedelta(days=1)).isoformat(),
    )


@router.get("/keys", include_in_schema=False)
def list_keys(request: Request, panel: PanelDep, session: SessionDep, revoked: bool = False) -> Response:
    return _keys_page(request, panel, session, show_revoked=revoked)


@router.post("/keys", include_in_schema=False)
def create(
    request: Request,
    panel: PanelDep,
    session: SessionDep,
    name: Annotated[str, Form()],
    group_id: Annotated[str, Form()] = "",
    owner_id: Annotated[str, Form()] = "",
    monthly_limit: Annotated[str, Form()] = "",
    labels: Annotated[str, Form()] = "",
    expires_on: Annotated[str, Form()] = "",
    manage: Annotated[str, Form()] = "none",
) -> Response:
    data = KeyCreate.model_validate(
        {
            "name": name,
            "group_id": blank_to_none(group_id),
            "owner_id": blank_to_none(owner_id),
            "monthly_limit": monthly_limit.strip() or None,
            "labels": parse_labels(labels) or None,
            "expires_at": parse_expiry(expires_on),
            "permissions": {"manage": manage, "completions": "write"},
        }
    )
    key, secret = keys.create(session, panel.caller, data)
    to = f"{PREFIX}/keys"
    return show_once(request, redirect(request, to), panel, to=to, kind="key", name=key.name, secret=secret)


@router.post("/keys/{key_id}/limit", include_in_schema=False)
def set_limit(
    request: Request, key_id: str, panel: PanelDep, session: SessionDep, monthly_limit: Annotated[str, Form()] = ""
) -> Response:
    data = KeyLimit.model_validate({"monthly_limit": monthly_limit.strip() or "0"})
    key = keys.set_limit(session, panel.caller, key_id, monthly_limit=data.monthly_limit)
    return redirect(request, f"{PREFIX}/keys", f'Saved the limit of "{key.name}".')


@router.post("/keys/{key_id}/labels", include_in_schema=False)
def set_labels(
    request: Request, key_id: str, panel: PanelDep, session: SessionDep, labels: Annotated[str, Form()] = ""
) -> Response:
    data = KeyLabels.model_validate({"labels": parse_labels(labels)})
    key = keys.set_labels(session, panel.caller, key_id, labels=data.labels)
    return redirect(request, f"{PREFIX}/keys", f'Saved the labels of "{key.name}".')


@router.post("/keys/{key_id}/expiry", include_in_schema=False)
def set_expiry(
    request: Request, key_id: str, panel: PanelDep, session: SessionDep, expires_on: Annotated[str, Form()] = ""
) -> Response:
    data = KeyExpiry.model_validate({"expires_at": parse_expiry(expires_on)})
    key = keys.set_expiry(session, panel.caller, key_id, expires_at=data.expires_at)
    return redirect(request, f"{PREFIX}/keys", f'Saved the expiry of "{key.name}".')


@router.post("/keys/{key_id}/revoke", include_in_schema=False)
def revoke(request: Request, key_id: str, panel: PanelDep, session: SessionDep) -> Response:
    key = keys.get_visible(session, panel.caller, key_id)
    keys.revoke(session, panel.caller, key_id)
    return redirect(request, f"{PREFIX}/keys", f'Revoked "{key.name}".')
