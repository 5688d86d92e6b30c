"""SCIM 2.0 under `/scim/v2`: Users, Groups, search and discovery. Handlers parse, call one service
function and render; every error leaves in SCIM's error schema (see `ScimRoute`)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from scim2_models import InvalidSyntaxException, NotFoundException
from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.auth.deps import SessionDep
from covey.models import Group, User
from covey.scim import discovery, render, resources
from covey.scim import groups as scim_groups
from covey.scim import users as scim_users
from covey.scim.auth import ScimCaller
from covey.scim.errors import ScimResponse, ScimRoute

router = APIRouter(route_class=ScimRoute, tags=["scim"], default_response_class=ScimResponse)


async def _json_body(request: Request) -> dict[str, Any]:
    payload = orjson.loads(await request.body())
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="the body must be a JSON object")
    return payload


# Read as raw JSON whatever the content type (application/scim+json or application/json): the SCIM
# models validate it.
Body = Annotated[dict[str, Any], Depends(_json_body)]


# --- discovery -------------------------------------------------------------------------------------


@router.get("/ServiceProviderConfig", summary="What this SCIM server supports")
def service_provider_config(request: Request, _caller: ScimCaller) -> ScimResponse:
    return ScimResponse(discovery.service_provider_config(render.base_url(request)))


@router.get("/ResourceTypes", summary="The resource types served")
def resource_types(request: Request, _caller: ScimCaller) -> ScimResponse:
    base = render.base_url(request)
    items = [discovery.resource_type(name, base) for name in discovery.RESOURCE_TYPES]
    return ScimResponse(discovery.list_response([i for i in items if i is not None]))


@router.get("/ResourceTypes/{name}", summary="One resource type")
def resource_type(name: str, request: Request, _caller: ScimCaller) -> ScimResponse:
    found = discovery.resource_type(name, render.base_url(request))
    if found is None:
        raise NotFoundException(detail=f"Resource type {name} not found")
    return ScimResponse(found)


@router.get("/Schemas", summary="The schemas of the resources served")
def schemas(request: Request, _caller: ScimCaller) -> ScimResponse:
    base = render.base_url(request)
    items = [discovery.schema(sid, base) for sid in discovery.schema_ids()]
    return ScimResponse(discovery.list_response([i for i in items if i is not None]))


@router.get("/Schemas/{schema_id}", summary="One schema")
def schema(schema_id: str, request: Request, _caller: ScimCaller) -> ScimResponse:
    found = discovery.schema(schema_id, render.base_url(request))
    if found is None:
        raise NotFoundException(detail=f"Schema {schema_id} not found")
    return ScimResponse(found)


# --- users -----------------------------------------------------------------------------------------


def _search_users(session: Session, caller: Caller, request: Request, payload: dict[str, Any]) -> ScimResponse:
    search = render.search_request(resources.User, payload)
    start, offset, count = render.window(search)
    rows, total = scim_users.search(session, caller, expression=render.filter_of(search), offset=offset, limit=count)
    items = render.users(session, caller, rows, render.base_url(request))
    return render.listing(resources.User, search, start, total, items)


def _user(session: Session, caller: Caller, request: Request, user: User, status_code: int = 200) -> ScimResponse:
    resource = render.users(session, caller, [user], render.base_url(request))[0]
    return render.one(resource, request, status_code=status_code)


@router.get("/Users", summary="List or filter users")
def list_users(request: Request, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _search_users(session, caller, request, render.query_parameters(request))


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


def _search_groups(session: Session, caller: Caller, request: Request, payload: dict[str, Any]) -> ScimResponse:
    search = render.search_request(resources.Group, payload)
    start, offset, count = render.window(search)
    rows, total = scim_groups.search(session, caller, expression=render.filter_of(search), offset=offset, limit=count)
    base = render.base_url(request)
    items = render.groups(session, caller, rows, base, with_members=render.wants_members(search))
    return render.listing(resources.Group, search, start, total, items)


def _group(session: Session, caller: Caller, request: Request, group: Group, status_code: int = 200) -> ScimResponse:
    wanted = render.search_request(resources.Group, render.query_parameters(request))
    base = render.base_url(request)
    resource = render.groups(session, caller, [group], base, with_members=render.wants_members(wanted))[0]
    return render.one(resource, request, status_code=status_code)


@router.get("/Groups", summary="List or filter groups")
def list_groups(request: Request, session: SessionDep, caller: ScimCaller) -> ScimResponse:
    return _search_groups(session, caller, request, render.query_parameters(request))


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
    search = render.search_request(resources.User | resources.Group, body)
    start, offset, count = render.window(search)
    expression = render.filter_of(search)
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
    base = render.base_url(request)
    items = [*render.users(session, caller, users, base), *render.groups(session, caller, groups, base)]
    return render.listing(resources.User | resources.Group, search, start, user_total + group_total, items)


@router.get("/{path:path}", include_in_schema=False)
def not_found(path: str, _caller: ScimCaller) -> ScimResponse:
    raise NotFoundException(detail=f"/{path} is not a SCIM endpoint")
