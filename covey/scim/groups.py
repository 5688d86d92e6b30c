"""SCIM groups are Covey groups, changed only through `groups.service` (its rules, its audit).

A group provisioned through SCIM starts at the top level; an admin may move it under a Covey parent,
and a later rename by the identity provider changes only its name, so it stays where it was put.
Removing a member through SCIM removes the membership at once, and with it the group's access.
Members SCIM adds are marked as the identity provider's (`managed_by_idp`), as are those an OpenID
Connect groups claim adds, so both paths land a person in the same groups (`covey.sso.signin`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scim2_models import (
    ConflictException,
    Context,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    UniquenessException,
)
from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.groups import repository as groups_repo
from covey.groups import service as groups_service
from covey.groups.schemas import GroupCreate, GroupUpdate
from covey.kit.errors import Conflict
from covey.models import Group
from covey.scim import filters, repository, resources
from covey.scim.mapping import GroupFields, group_as_input, group_fields
from covey.scim.resources import GROUP_SCHEMA, POLICY, InputGroup


def get(session: Session, caller: Caller, group_id: str) -> Group:
    group = groups_repo.get(session, org_id=caller.org_id, group_id=group_id)
    if group is None:
        raise NotFoundException(detail=f"Group {group_id} not found")
    return group


def search(
    session: Session, caller: Caller, *, expression: str | None, offset: int, limit: int, lenient: bool = False
) -> tuple[Sequence[Group], int]:
    condition = filters.to_sql(
        expression, model=resources.Group, attributes=filters.GROUP_ATTRIBUTES, schema=GROUP_SCHEMA, lenient=lenient
    )
    return repository.page(session, Group, org_id=caller.org_id, condition=condition, offset=offset, limit=limit)


def parse(payload: Mapping[str, Any]) -> InputGroup:
    return InputGroup.model_validate(payload, scim_ctx=Context.DEFAULT, scim_policy=POLICY)


def create(session: Session, caller: Caller, payload: Mapping[str, Any]) -> Group:
    fields = group_fields(parse(payload))
    _check_members(session, caller, fields.member_ids)
    _check_external_id(session, caller, None, fields.external_id)
    try:
        group = groups_service.create(session, caller, GroupCreate(name=fields.name, external_id=fields.external_id))
    except Conflict as exc:
        raise UniquenessException(detail=exc.message) from None
    if fields.member_ids:
        groups_service.bulk_add(session, caller, group.id, user_ids=fields.member_ids, managed_by_idp=True)
    return group


def replace(session: Session, caller: Caller, group_id: str, payload: Mapping[str, Any]) -> Group:
    group = get(session, caller, group_id)
    return _apply(session, caller, group, group_fields(parse(payload)))


def patch(session: Session, caller: Caller, group_id: str, payload: Mapping[str, Any]) -> Group:
    group = get(session, caller, group_id)
    operations = PatchOp[InputGroup].model_validate(
        payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )
    state = group_as_input(
        group, repository.members_of_groups(session, org_id=caller.org_id, group_ids=[group.id])[group.id]
    )
    operations.patch(state, scim_policy=POLICY)
    return _apply(session, caller, group, group_fields(state))


def delete(session: Session, caller: Caller, group_id: str) -> None:
    group = get(session, caller, group_id)
    try:
        groups_service.delete(session, caller, group.id)
    except Conflict as exc:
        # Admins nested Covey groups under it: deleting those is for Covey, not the identity provider.
        raise ConflictException(detail=exc.message) from None


def _check_members(session: Session, caller: Caller, member_ids: Sequence[str]) -> None:
    known = repository.existing_user_ids(session, org_id=caller.org_id, user_ids=member_ids)
    unknown = [uid for uid in member_ids if uid not in known]
    if unknown:
        raise InvalidValueException(detail=f"members are not users of this organization: {', '.join(unknown)}")


def _check_external_id(session: Session, caller: Caller, group: Group | None, external_id: str | None) -> None:
    if external_id is None or (group is not None and group.external_id == external_id):
        return
    other = repository.group_by_external_id(session, org_id=caller.org_id, external_id=external_id)
    if other is not None:
        raise UniquenessException(detail=f"externalId {external_id} already exists")


def _apply(session: Session, caller: Caller, group: Group, fields: GroupFields) -> Group:
    """Bring a stored group to what SCIM asked for: a rename keeps the group where it is in the tree."""
    _check_members(session, caller, fields.member_ids)
    _check_external_id(session, caller, group, fields.external_id)
    changes: dict[str, Any] = {}
    if fields.name != group.name:
        changes["name"] = fields.name
    if fields.external_id != group.external_id:
        changes["external_id"] = fields.external_id
    if changes:
        try:
            group = groups_service.update(session, caller, group.id, GroupUpdate(**changes))
        except Conflict as exc:
            raise UniquenessException(detail=exc.message) from None
    current = repository.members_of_groups(session, org_id=caller.org_id, group_ids=[group.id])[group.id]
    wanted = set(fields.member_ids)
    for user_id in current:
        if user_id not in wanted:
            groups_service.remove_member(session, caller, group.id, user_id=user_id)
    to_add = [uid for uid in fields.member_ids if uid not in set(current)]
    if to_add:
        groups_service.bulk_add(session, caller, group.id, user_ids=to_add, managed_by_idp=True)
    return group
