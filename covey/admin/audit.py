"""The audit log, filterable by a search (part of an action's name, or of a person's, group's or key's
name), target type, actor and dates (org admins only, as in the API). Groups are named by path and
people by name; membership changes say who joined or left which group."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from covey.admin import grouping
from covey.admin.forms import parse_day
from covey.admin.web import OrgAdminDep, PanelRoute, page
from covey.audit import repository as audit_repo
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.keys import service as keys
from covey.kit.pagination import MAX_LIMIT, Page
from covey.models import AuditEvent
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)

PAGE_SIZE = 50
TARGET_TYPES = ("group", "user", "apikey", "access_list", "org", "policy", "scim_token", "budget", "webhook")
# A search naming more objects than this keeps the first ones (the query stays small).
MAX_NAMED = 100
GONE = "someone no longer in the organization"


def _membership_line(event: AuditEvent, people: Mapping[str, str], paths: Mapping[str, str]) -> str | None:
    """What a membership event did, in words: "Ana Ruiz added to Engineering › Backend as member"."""
    change: dict[str, Any] = event.after or event.before or {}
    if not event.action.startswith("group.member.") or "user_id" not in change:
        return None
    person = people.get(change["user_id"], GONE)

    def group(snapshot: dict[str, Any] | None) -> str:
        gid = (snapshot or {}).get("group_id") or event.target_id or ""
        return paths.get(gid, "a deleted group")

    verb = event.action.removeprefix("group.member.")
    if verb == "add":
        return f"{person} added to {group(event.after)} as {change.get('role', 'member')}"
    if verb == "remove":
        return f"{person} removed from {group(event.before)}"
    if verb == "move":
        return f"{person} moved from {group(event.before)} to {group(event.after)}"
    if verb == "role":
        return f"{person} made {change.get('role')} in {group(event.after)}"
    return f"{person} in {group(change)}: {verb.replace('_', ' ')} changed"


@router.get("/audit", include_in_schema=False)
def audit_log(
    request: Request,
    panel: OrgAdminDep,
    session: SessionDep,
    q: str = "",
    target_type: str = "",
    actor_id: str = "",
    target_id: str = "",
    since: str = "",
    until: str = "",
    offset: int = 0,
) -> Response:
    start = parse_day(since, "From")
    end = parse_day(until, "To")
    people, _ = users.search(
        session, panel.caller, q=None, role=None, status=None, group_id=None, page=Page(limit=MAX_LIMIT, offset=0)
    )
    # Targets by name where they still exist; deleted ones keep a short id.
    person_names = {u.id: u.name or u.label for u in people}
    paths = grouping.paths(groups.list_visible(session, panel.caller))
    names = {u.id: u.label for u in people} | paths
    names |= {k.id: k.name for k in keys.list_visible(session, panel.caller, include_revoked=True)}
    search = q.strip()
    searchable = names | {u.id: f"{u.name or ''} {u.label}" for u in people}
    naming = [i for i, name in searchable.items() if search.lower() in name.lower()][:MAX_NAMED] if search else []
    rows, total = audit_repo.list_events(
        session,
        org_id=panel.caller.org_id,
        actor_id=actor_id or None,
        target_id=target_id.strip() or None,
        target_type=target_type or None,
        action=None,
        matching=search or None,
        naming=naming,
        since=start,
        until=end + timedelta(days=1) if end else None,
        limit=PAGE_SIZE,
        offset=max(offset, 0),
    )
    lines = {e.id: line for e in rows if (line := _membership_line(e, person_names, paths))}
    filters = {
        "q": q,
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
        lines=lines,
        target_types=TARGET_TYPES,
        filters=filters,
        query=urlencode({k: v for k, v in filters.items() if v}),
    )
