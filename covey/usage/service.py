"""The request log: recent requests, filtered, for whoever may read them (docs/design.md §2).

Org admins read every request of the org; a group admin the requests charged to the groups they run
(their subtrees) and their own; anyone else their own. A request's content (its bodies) was kept only
for keys whose `logging` flag was on, and is shown only while that flag is still on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.kit.clock import as_utc
from covey.kit.errors import BadRequest, NotFound
from covey.kit.pagination import Page
from covey.usage import repository
from covey.usage.schemas import RequestDetail, RequestOut

_STATUS = re.compile(r"^([1-5])(xx|\d\d)$")


@dataclass(frozen=True)
class RequestFilter:
    user_id: str | None = None
    api_key_id: str | None = None
    group_id: str | None = None
    model: str | None = None
    status: str | None = None  # "429", or a class: "4xx"
    start: datetime | None = None
    end: datetime | None = None


def status_range(text: str | None) -> tuple[int, int] | None:
    """`429` → (429, 429); `5xx` → (500, 599)."""
    if not text:
        return None
    found = _STATUS.match(text.strip().lower())
    if found is None:
        raise BadRequest(f"status: {text!r} is not an HTTP status like 429 or a class like 4xx")
    if found.group(2) == "xx":
        low = int(found.group(1)) * 100
        return low, low + 99
    code = int(found.group(0))
    return code, code


def _visible(caller: Caller) -> tuple[frozenset[str] | None, str | None]:
    scope = caller.scope
    if scope.is_org_admin:
        return None, None
    return scope.admin_groups, caller.user_id


def search(session: Session, caller: Caller, filters: RequestFilter, page: Page) -> tuple[list[RequestOut], int]:
    start, end = as_utc(filters.start), as_utc(filters.end)
    if start and end and end <= start:
        raise BadRequest("end: must be after start")
    groups, user_id = _visible(caller)
    rows, total = repository.search_requests(
        session,
        org_id=caller.org_id,
        user_id=filters.user_id or None,
        key_id=filters.api_key_id or None,
        group_id=filters.group_id or None,
        model=(filters.model or "").strip() or None,
        status_range=status_range(filters.status),
        start=start,
        end=end,
        visible_groups=groups,
        visible_user_id=user_id,
        limit=page.limit,
        offset=page.offset,
    )
    logging = repository.logging_keys(session, org_id=caller.org_id, key_ids={r.key_id for r in rows})
    return [
        RequestOut.of(r, logged=_has_content(r.request_body, r.response_body, r.key_id in logging)) for r in rows
    ], total


def _has_content(request_body: str | None, response_body: str | None, logging_on: bool) -> bool:
    return logging_on and (request_body is not None or response_body is not None)


def get(session: Session, caller: Caller, request_id: str) -> RequestDetail:
    """One request with its content when the key logs; 404 for one the caller may not read, as for
    one that does not exist."""
    record = repository.get_request(session, org_id=caller.org_id, request_id=request_id)
    if record is None:
        raise NotFound("request not found")
    groups, user_id = _visible(caller)
    if groups is not None and record.user_id != user_id:
        charged = repository.charged_groups_of(session, org_id=caller.org_id, request_id=record.id)
        if not charged & groups:
            raise NotFound("request not found")
    logging_on = bool(repository.logging_keys(session, org_id=caller.org_id, key_ids={record.key_id}))
    logged = _has_content(record.request_body, record.response_body, logging_on)
    out = RequestOut.of(record, logged=logged)
    return RequestDetail(
        **out.model_dump(),
        request_body=record.request_body if logged else None,
        response_body=record.response_body if logged else None,
    )
