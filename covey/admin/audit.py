"""The audit log, filterable by action, target, actor and dates (org admins only, as in the API)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from covey.admin.forms import parse_day
from covey.admin.web import OrgAdminDep, PanelRoute, page
from covey.audit import repository as audit_repo
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.keys import service as keys
from covey.kit.pagination import MAX_LIMIT, Page
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)

PAGE_SIZE = 50
TARGET_TYPES = ("group", "user", "apikey", "access_list", "org", "policy", "scim_token", "budget", "webhook")


@router.get("/audit", include_in_schema=False)
def audit_log(
    request: Request,
    panel: OrgAdminDep,
    session: SessionDep,
    action: str = "",
    target_type: str = "",
    actor_id: str = "",
    target_id: str = "",
    since: str = "",
    until: str = "",
    offset: int = 0,
) -> Response:
    start = parse_day(since, "From")
    end = parse_day(until, "To")
    rows, total = audit_repo.list_events(
        session,
        org_id=panel.caller.org_id,
        actor_id=actor_id or None,
        target_id=target_id.strip() or None,
        target_type=target_type or None,
        action=action.strip() or None,
        since=start,
        until=end + timedelta(days=1) if end else None,
        limit=PAGE_SIZE,
        offset=max(offset, 0),
    )
    people, _ = users.search(
        session, panel.caller, q=None, role=None, status=None, group_id=None, page=Page(limit=MAX_LIMIT, offset=0)
    )
    # Targets by name where they still exist; deleted ones keep their id.
    names = {u.id: u.label for u in people}
    names |= {g.id: g.name for g in groups.list_visible(session, panel.caller)}
    names |= {k.id: k.name for k in keys.list_visible(session, panel.caller, include_revoked=True)}
    filters = {
        "action": action,
        "target_type": target_type,
        "actor_id": actor_id,
        "target_id": target_id,
        "since": since,
        "until": until,
    }
    return page(
        request,
        panel,
        "audit.html",
        events=rows,
        total=total,
        offset=max(offset, 0),
        page_size=PAGE_SIZE,
        people=people,
        names=names,
        target_types=TARGET_TYPES,
        filters=filters,
        query=urlencode({k: v for k, v in filters.items() if v}),
    )
