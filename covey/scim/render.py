"""From a SCIM request's query to the response body: search parameters, paging, the resources of a
page (memberships loaded in one query), and `attributes`/`excludedAttributes` applied on the way out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from scim2_models import Context, ListResponse, ResponseParameters, SearchRequest
from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.models import Group, User
from covey.scim import discovery, mapping, repository, resources
from covey.scim.errors import ScimResponse
from covey.scim.resources import POLICY


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def query_parameters(request: Request) -> dict[str, Any]:
    """A GET's query string in the shape of a SearchRequest body."""
    q = request.query_params
    raw: dict[str, Any] = {
        "filter": q.get("filter"),
        "startIndex": q.get("startIndex"),
        "count": q.get("count"),
        "attributes": _split(q.get("attributes")),
        "excludedAttributes": _split(q.get("excludedAttributes")),
    }
    return {k: v for k, v in raw.items() if v is not None}


def search_request(model: Any, payload: dict[str, Any]) -> Any:
    # Sorting is not offered (ServiceProviderConfig says so): a sortBy is ignored, as RFC 7644 allows.
    payload = {k: v for k, v in payload.items() if k not in ("sortBy", "sortOrder")}
    return SearchRequest[model].model_validate(payload, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY)


def filter_of(search: Any) -> str | None:
    return str(search.filter) if search.filter else None


def window(search: Any) -> tuple[int, int, int]:
    """(startIndex as answered, offset, count): a count below 0 is 0, above the maximum is the maximum."""
    start = max(search.start_index or 1, 1)
    count = discovery.DEFAULT_COUNT if search.count is None else min(max(search.count, 0), discovery.MAX_RESULTS)
    return start, start - 1, count


def listing(model: Any, search: Any, start: int, total: int, items: Sequence[Any]) -> ScimResponse:
    page = ListResponse[model](total_results=total, start_index=start, items_per_page=len(items), resources=items)
    return ScimResponse(page.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search))


def one(resource: Any, request: Request, *, status_code: int = 200) -> ScimResponse:
    wanted = {k: v for k, v in query_parameters(request).items() if k in ("attributes", "excludedAttributes")}
    params = ResponseParameters[type(resource)].model_validate(wanted, scim_policy=POLICY)  # type: ignore[misc]
    body = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)
    headers = {"Location": resource.meta.location} if status_code == 201 else None
    return ScimResponse(body, status_code=status_code, headers=headers)


def users(session: Session, caller: Caller, rows: Sequence[User], base: str) -> list[resources.User]:
    groups = repository.groups_of_users(session, org_id=caller.org_id, user_ids=[u.id for u in rows])
    return [mapping.user_resource(u, groups.get(u.id, []), base_url=base) for u in rows]


def wants_members(search: Any) -> bool:
    """Members can be many; they are loaded only when the response will carry them."""
    excluded = {str(a).lower() for a in search.excluded_attributes or []}
    wanted = {str(a).lower().split(".")[0] for a in search.attributes or []}
    return "members" not in excluded and (not wanted or "members" in wanted)


def groups(
    session: Session, caller: Caller, rows: Sequence[Group], base: str, *, with_members: bool = True
) -> list[resources.Group]:
    members = {}
    if with_members:
        members = repository.members_of_groups(session, org_id=caller.org_id, group_ids=[g.id for g in rows])
    return [mapping.group_resource(g, members.get(g.id, []), base_url=base) for g in rows]
