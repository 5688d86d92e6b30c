"""`/v1/manage/group…`: Requesty's group and member routes, and Covey's tree, PATCH, bulk add and move."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.budgets.spend import SpendDep
from covey.groups import service
from covey.groups.schemas import (
    BulkAdd,
    BulkAddResult,
    GroupCreate,
    GroupCreated,
    GroupDetailEnvelope,
    GroupEnvelope,
    GroupList,
    GroupTree,
    GroupUpdate,
    MemberAdd,
    MemberEnvelope,
    MemberMove,
    MemberRateLimit,
    MemberRef,
    RoleChange,
)
from covey.kit.responses import ERRORS

router = APIRouter(prefix="/group", tags=["groups"], responses=ERRORS)


@router.get("", response_model=GroupList, summary="List the groups the caller may read")
def list_groups(session: SessionDep, caller: ManageRead, spend: SpendDep) -> GroupList:
    groups = service.list_visible(session, caller)
    spend.groups(groups)
    return GroupList(groups=groups)


@router.post("", response_model=GroupCreated, summary="Create a group (top level, or under `parent_id`)")
def create_group(body: GroupCreate, session: SessionDep, caller: ManageWrite) -> GroupCreated:
    group = service.create(session, caller, body)
    return GroupCreated(group_id=group.id, group=service.describe(session, caller, group))


@router.get("/tree", response_model=GroupTree, summary="The visible group tree, nested, with member counts")
def group_tree(session: SessionDep, caller: ManageRead, spend: SpendDep) -> GroupTree:
    nodes = service.tree(session, caller)
    spend.groups(nodes)
    return GroupTree(tree=nodes)


@router.get("/{group_id}", response_model=GroupDetailEnvelope, summary="Get a group with its members")
def get_group(group_id: str, session: SessionDep, caller: ManageRead, spend: SpendDep) -> GroupDetailEnvelope:
    group = service.detail(session, caller, group_id)
    spend.groups([group])
    return GroupDetailEnvelope(group=group)


@router.patch("/{group_id}", response_model=GroupEnvelope, summary="Rename, move, or change a group's settings")
def update_group(group_id: str, body: GroupUpdate, session: SessionDep, caller: ManageWrite) -> GroupEnvelope:
    group = service.update(session, caller, group_id, body)
    return GroupEnvelope(group=service.describe(session, caller, group))


@router.delete(
    "/{group_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a group (409 while it has subgroups, unless recursive)",
)
def delete_group(
    group_id: str,
    session: SessionDep,
    caller: ManageWrite,
    recursive: Annotated[bool, Query(description="Delete the whole subtree")] = False,
) -> Response:
    service.delete(session, caller, group_id, recursive=recursive)
    return Response(status_code=204)


@router.post("/{group_id}/member", status_code=204, response_class=Response, summary="Add a member with a role")
def add_member(group_id: str, body: MemberAdd, session: SessionDep, caller: ManageWrite) -> Response:
    service.add_member(session, caller, group_id, user_id=body.user_id, role=body.role)
    return Response(status_code=204)


@router.post("/{group_id}/members", response_model=BulkAddResult, summary="Add many members, all or nothing")
def bulk_add(group_id: str, body: BulkAdd, session: SessionDep, caller: ManageWrite) -> BulkAddResult:
    return service.bulk_add(session, caller, group_id, user_ids=body.user_ids, role=body.role)


@router.put("/{group_id}/member/{user_id}/role", response_model=MemberEnvelope, summary="Change a member's role")
def set_role(group_id: str, user_id: str, body: RoleChange, session: SessionDep, caller: ManageWrite) -> MemberEnvelope:
    membership = service.set_role(session, caller, group_id, user_id=user_id, role=body.role)
    return MemberEnvelope(member=service.describe_member(session, caller, membership))


@router.put(
    "/{group_id}/member/{user_id}/rate-limit",
    response_model=MemberEnvelope,
    summary="Set a member's rate limit (requests per minute) through the group",
)
def set_member_rate_limit(
    group_id: str, user_id: str, body: MemberRateLimit, session: SessionDep, caller: ManageWrite
) -> MemberEnvelope:
    membership = service.set_member_rate_limit(session, caller, group_id, user_id=user_id, rate_limit=body.rate_limit)
    return MemberEnvelope(member=service.describe_member(session, caller, membership))


@router.delete(
    "/{group_id}/member", status_code=204, response_class=Response, summary="Remove a member (user id in the body)"
)
def remove_member(group_id: str, body: MemberRef, session: SessionDep, caller: ManageWrite) -> Response:
    service.remove_member(session, caller, group_id, user_id=body.user_id)
    return Response(status_code=204)


@router.delete("/{group_id}/member/{user_id}", status_code=204, response_class=Response, summary="Remove a member")
def remove_member_by_path(group_id: str, user_id: str, session: SessionDep, caller: ManageWrite) -> Response:
    service.remove_member(session, caller, group_id, user_id=user_id)
    return Response(status_code=204)


@router.post(
    "/{group_id}/member/{user_id}/move",
    response_model=MemberEnvelope,
    summary="Move a member to another group in one step",
)
def move_member(
    group_id: str, user_id: str, body: MemberMove, session: SessionDep, caller: ManageWrite
) -> MemberEnvelope:
    membership = service.move_member(
        session, caller, group_id, user_id=user_id, to_group_id=body.to_group_id, role=body.role
    )
    return MemberEnvelope(member=service.describe_member(session, caller, membership))
