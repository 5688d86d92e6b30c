"""SCIM 2.0 under `/scim/v2`: Users, Groups, search and discovery. Handlers parse, call one service
function and render; every error leaves in SCIM's error schema (see `ScimRoute`)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from scim2_models import (
    Context,
    InvalidSyntaxException,
    ListResponse,
    NotFoundException,
    ResponseParameters,
    SearchRequest,
)

from covey.auth.deps import SessionDep
from covey.scim import discovery, mapping, repository, resources
from covey.scim import groups as scim_groups
from covey.scim import users as scim_users
from covey.scim.auth import ScimCaller
from covey.scim.errors import ScimResponse, ScimRoute
from covey.scim.resources import POLICY

router = APIRouter(route_class=ScimRoute, tags=["scim"], default_response_class=ScimResponse)


async def _json_body(request: Request) -> dict[str, Any]:
    payload = orjson.loads(await request.body())
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="the body must be a JSON object")
    return payload


Body = Annotated[dict[str, Any], Depends(_json_body)]


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _query_parameters(request: Request) -> dict[str, Any]:
    q = request.query_params
    raw: dict[str, Any] = {
        "filter": q.get("filter"),
        "startIndex": q.get("startIndex"),
        "count": q.get("count"),
        "attributes": _split(q.get("attributes")),
        "excludedAttributes": _split(q.get("excludedAttributes")),
    }
    return {k: v for k, v in raw.items() if v is not None}


def _search_request(model: Any, payload: dict[str, Any]) -> Any:
    # Sorting is not offered (ServiceProviderConfig says so): a sortBy is ignored, as RFC 7644 allows.
    payload = {k: v for k, v in payload.items() if k not in ("sortBy", "sortOrder")}
    return SearchRequest[model].model_validate(payload, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY)


def _window(search: Any) -> tuple[int, int, int]:
    start = max(search.start_index or 1, 1)
    count = discovery.DEFAULT_COUNT if search.count is None else min(max(search.count, 0), discovery.MAX_RESULTS)
    return start, start - 1, count


def _list_response(model: Any, search: Any, start: int, total: int, items: list[Any]) -> ScimResponse:
    listing = ListResponse[model](total_results=total, start_index=start, items_per_page=len(items), resources=items)
    return ScimResponse(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search))


def _one(resource: Any, request: Request, *, status_code: int = 200) -> ScimResponse:
    wanted = {k: v for k, v in _query_parameters(request).items() if k in ("attributes", "excludedAttributes")}
    params = ResponseParameters[type(resource)].model_validate(wanted, scim_policy=POLICY)  # type: ignore[misc]
    body = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)
    headers = {"Location": resource.meta.location} if status_code == 201 else None
    return ScimResponse(body, status_code=status_code, headers=headers)


# --- discovery -------------------------------------------------------------------------------------


@router.get("/ServiceProviderConfig", summary="What this SCIM server supports")
def service_provider_config(request: Request, _caller: ScimCaller) -> ScimResponse:
    return ScimResponse(discovery.service_provider_config(_base_url(request)))


@router.get("/ResourceTypes", summary="The resource types served")
def resource_types(request: Request, _caller: ScimCaller) -> ScimResponse:
    base = _base_url(request)
    items = [discovery.resource_type(name, base) for name in discovery.RESOURCE_TYPES]
    return ScimResponse(discovery.list_response([i for i in items if i is not None]))


@router.get("/ResourceTypes/{name}", summary="One resource type")
def resource_type(name: str, request: Request, _caller: ScimCaller) -> ScimResponse:
    found = discovery.resource_type(name, _base_url(request))
    if found is None:
        raise NotFoundException(detail=f"Resource type {name} not found")
    return ScimResponse(found)


@router.get("/Schemas", summary="The schemas of the resources served")
def schemas(request: Request, _caller: ScimCaller) -> ScimResponse:
    base = _base_url(request)
    items = [discovery.schema(sid, base) for sid in discovery.schema_ids()]
    return ScimResponse(discovery.list_response([i for i in items if i is not None]))


@router.get("/Schemas/{schema_id}", summary="One schema")
def schema(schema_id: str, request: Request, _caller: ScimCaller) -> ScimResponse:
    found = discovery.schema(schema_id, _base_url(request))
    if found is None:
        raise NotFoundException(detail=f"Schema {schema_id} not found")
    return ScimResponse(found)


# --- users -----------------------------------------------------------------------------------------


def _user_resources(session: SessionDep, caller: ScimCaller, users: Any, base: str) -> list[resources.User]:
    groups = repository.groups_of_users(session, org_id=caller.org_id, user_ids=[u.id for u in users])
    return [mapping.user_resource(u, groups.get(u.id, []), base_url=base) for u in users]


def _search_users(session: SessionDep, caller: ScimCaller, request: Request, payload: dict[str, Any]) -> ScimResponse:
    search = _search_request(resources.User, payload)
    start, offset, count = _window(search)
    rows, total = scim_users.search(
        session, caller, expression=str(search.filter) if search.filter else None, offset=offset, limit=count
    )
    items = _user_resources(session, caller, rows, _base_url(request))
    return _list_response(resources.User, search, start, total, items)


def _user(session: SessionDep, caller: ScimCaller, request: Request, user: Any, status_code: int = 200) -> ScimResponse:
    return _one(_user_resources(session, caller, [user], _base_url(request))[0], request, status_code=status_code)


@router.get("/Users", summary="List or filter users")
def list_users(request: Request, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _search_users(session, caller, request, _query_parameters(request))


@router.post("/Users/.search", summary="Search users")
def search_users(request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _search_users(session, caller, request, body)


@router.post("/Users", status_code=201, summary="Provision a user (joins every default group)")
def create_user(request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _user(session, caller, request, scim_users.create(session, caller, body), status_code=201)


@router.get("/Users/{user_id}", summary="Get a user")
def get_user(user_id: str, request: Request, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _user(session, caller, request, scim_users.get(session, caller, user_id))


@router.put("/Users/{user_id}", summary="Replace a user")
def replace_user(user_id: str, request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _user(session, caller, request, scim_users.replace(session, caller, user_id, body))


@router.patch("/Users/{user_id}", summary="Patch a user (`active: false` deactivates)")
def patch_user(user_id: str, request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _user(session, caller, request, scim_users.patch(session, caller, user_id, body))


@router.delete("/Users/{user_id}", status_code=204, summary="Deprovision a user: deactivated, their keys stop")
def delete_user(user_id: str, session: SessionDep, caller: ScimCaller) -> Response:
    scim_users.delete(session, caller, user_id)
    return Response(status_code=204)


# --- groups ----------------------------------------------------------------------------------------


def _group_resources(
    session: SessionDep, caller: ScimCaller, groups: Any, base: str, *, with_members: bool = True
) -> list[resources.Group]:
    members = (
        repository.members_of_groups(session, org_id=caller.org_id, group_ids=[g.id for g in groups])
        if with_members
        else {}
    )
    return [mapping.group_resource(g, members.get(g.id, []), base_url=base) for g in groups]


def _wants_members(search: Any) -> bool:
    """Members can be many; they are loaded only when the response will carry them."""
    excluded = {str(a).lower() for a in search.excluded_attributes or []}
    wanted = {str(a).lower().split(".")[0] for a in search.attributes or []}
    return "members" not in excluded and (not wanted or "members" in wanted)


def _search_groups(session: SessionDep, caller: ScimCaller, request: Request, payload: dict[str, Any]) -> ScimResponse:
    search = _search_request(resources.Group, payload)
    start, offset, count = _window(search)
    rows, total = scim_groups.search(
        session, caller, expression=str(search.filter) if search.filter else None, offset=offset, limit=count
    )
    items = _group_resources(session, caller, rows, _base_url(request), with_members=_wants_members(search))
    return _list_response(resources.Group, search, start, total, items)


def _group(
    session: SessionDep, caller: ScimCaller, request: Request, group: Any, status_code: int = 200
) -> ScimResponse:
    params = _search_request(resources.Group, _query_parameters(request))
    items = _group_resources(session, caller, [group], _base_url(request), with_members=_wants_members(params))
    return _one(items[0], request, status_code=status_code)


@router.get("/Groups", summary="List or filter groups")
def list_groups(request: Request, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _search_groups(session, caller, request, _query_parameters(request))


@router.post("/Groups/.search", summary="Search groups")
def search_groups(request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _search_groups(session, caller, request, body)


@router.post("/Groups", status_code=201, summary="Provision a group (top level, until an admin moves it)")
def create_group(request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _group(session, caller, request, scim_groups.create(session, caller, body), status_code=201)


@router.get("/Groups/{group_id}", summary="Get a group")
def get_group(group_id: str, request: Request, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _group(session, caller, request, scim_groups.get(session, caller, group_id))


@router.put("/Groups/{group_id}", summary="Replace a group: name, externalId and the whole member list")
def replace_group(group_id: str, request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _group(session, caller, request, scim_groups.replace(session, caller, group_id, body))


@router.patch("/Groups/{group_id}", summary="Patch a group: rename, add or remove members")
def patch_group(group_id: str, request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _group(session, caller, request, scim_groups.patch(session, caller, group_id, body))


@router.delete("/Groups/{group_id}", status_code=204, summary="Delete a group")
def delete_group(group_id: str, session: SessionDep, caller: ScimCaller) -> Response:
    scim_groups.delete(session, caller, group_id)
    return Response(status_code=204)


# --- search across resource types, and everything else ---------------------------------------------


@router.post("/.search", summary="Search users and groups at once")
def search_all(request: Request, body: Body, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    search = _search_request(resources.User | resources.Group, body)
    start, offset, count = _window(search)
    expression = str(search.filter) if search.filter else None
    base = _base_url(request)
    # Users first, then groups: one ordered sequence, so paging is stable across the two.
    users, user_total = scim_users.search(
        session, caller, expression=expression, offset=offset, limit=count, lenient=True
    )
    groups, group_total = scim_groups.search(
        session,
        caller,
        expression=expression,
        offset=max(offset - user_total, 0),
        limit=count - len(users),
        lenient=True,
    )
    items: list[Any] = [
        *_user_resources(session, caller, users, base),
        *_group_resources(session, caller, groups, base),
    ]
    listing = ListResponse[resources.User | resources.Group](
        total_results=user_total + group_total, start_index=start, items_per_page=len(items), resources=items
    )
    return ScimResponse(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search))


@router.get("/{path:path}", include_in_schema=False)
def not_found(path: str, _caller: ScimCaller) -> ScimResponse:
    raise NotFoundException(detail=f"/{path} is not a SCIM endpoint")
