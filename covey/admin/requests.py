"""The request log in the panel: recent requests, filtered by person, key, group, model, status and
time, with tokens, cost, latency and features; a request's content on its own page, only while its
key logs. Who reads what is `covey.usage.service`'s rule, the same as the API's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from covey.admin import grouping
from covey.admin.web import Panel, PanelDep, PanelRoute, page
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.keys import repository as keys_repo
from covey.keys import service as keys
from covey.kit.errors import BadRequest
from covey.kit.pagination import MAX_LIMIT, MAX_OFFSET, Page
from covey.usage import service as requests
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)

PAGE_SIZE = 50
STATUSES = ("2xx", "4xx", "5xx", "400", "401", "403", "412", "429")


def _time(text: str, field: str) -> datetime | None:
    """From the form's date-and-time picker (UTC)."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{field}: {text!r} is not a date and time like 2026-12-03T09:30") from None


def _names(session: Any, panel: Panel) -> dict[str, Any]:
    """What the filters offer and how rows name people, keys and groups: only what the caller may see."""
    caller = panel.caller
    visible_groups = groups.list_visible(session, caller)
    visible_keys = keys.list_visible(session, caller, include_revoked=True)
    people = [panel.user]
    if panel.is_admin:
        people, _ = users.search(
            session, caller, q=None, role=None, status=None, group_id=None, page=Page(limit=MAX_LIMIT, offset=0)
        )
    return {
        "people": people,
        "keys": sorted(visible_keys, key=lambda k: k.name.lower()),
        "groups": grouping.choices(visible_groups, among={g.id for g in visible_groups}),
        "group_paths": grouping.paths(visible_groups),
        "key_names": {k.id: k.name for k in visible_keys},
    }


@router.get("/requests", include_in_schema=False)
def request_log(
    request: Request,
    panel: PanelDep,
    session: SessionDep,
    user_id: str = "",
    api_key_id: str = "",
    group_id: str = "",
    model: Annotated[str, Query(max_length=200)] = "",
    status: str = "",
    start: str = "",
    end: str = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    filters = requests.RequestFilter(
        user_id=user_id or None,
        api_key_id=api_key_id or None,
        group_id=group_id or None,
        model=model or None,
        status=status or None,
        start=_time(start, "From"),
        end=_time(end, "To"),
    )
    rows, total = requests.search(session, panel.caller, filters, Page(limit=limit, offset=offset))
    named = _names(session, panel)
    emails = keys_repo.emails(session, org_id=panel.caller.org_id, user_ids={r.user_id for r in rows})
    chosen = {
        "user_id": user_id,
        "api_key_id": api_key_id,
        "group_id": group_id,
        "model": model,
        "status": status,
        "start": start,
        "end": end,
    }
    kept = {k: v for k, v in chosen.items() if v}

    def at(new_offset: int) -> str:
        return "/admin/requests?" + urlencode({**kept, "limit": limit, "offset": new_offset})

    return page(
        request,
        panel,
        "requests.html",
        rows=rows,
        total=total,
        filters=chosen,
        statuses=STATUSES,
        emails=emails,
        limit=limit,
        offset=offset,
        previous=at(max(0, offset - limit)) if offset else None,
        following=at(offset + limit) if offset + limit < total else None,
        **named,
    )


@router.get("/requests/{request_id}", include_in_schema=False)
def one_request(request: Request, request_id: str, panel: PanelDep, session: SessionDep) -> Response:
    detail = requests.get(session, panel.caller, request_id)
    named = _names(session, panel)
    emails = keys_repo.emails(session, org_id=panel.caller.org_id, user_ids={detail.user_id})
    return page(request, panel, "request.html", r=detail, emails=emails, **named)
