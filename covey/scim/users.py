"""SCIM users: every change goes through `users.service`, so default groups, rules and audit apply.

A user deleted through SCIM is deactivated (their keys stop, their history stays) and disappears
from SCIM until it is provisioned again or reactivated in Covey.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from scim2_models import Context, NotFoundException, PatchOp, UniquenessException
from sqlalchemy import and_, not_
from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.models import User
from covey.scim import filters, repository, resources
from covey.scim.mapping import UserFields, user_as_input, user_fields
from covey.scim.resources import POLICY, USER_SCHEMA, InputUser
from covey.users import repository as users_repo
from covey.users import service as users_service
from covey.users.schemas import UserCreate, UserUpdate


def get(session: Session, caller: Caller, user_id: str) -> User:
    user = users_repo.get(session, org_id=caller.org_id, user_id=user_id)
    if user is None or repository.is_deleted(session, user):
        raise NotFoundException(detail=f"User {user_id} not found")
    return user


def search(
    session: Session, caller: Caller, *, expression: str | None, offset: int, limit: int, lenient: bool = False
) -> tuple[Sequence[User], int]:
    condition = filters.to_sql(
        expression, model=resources.User, attributes=filters.USER_ATTRIBUTES, schema=USER_SCHEMA, lenient=lenient
    )
    return repository.page(
        session,
        User,
        org_id=caller.org_id,
        condition=and_(condition, not_(repository.deleted())),
        offset=offset,
        limit=limit,
    )


def parse(payload: Mapping[str, Any]) -> InputUser:
    return InputUser.model_validate(payload, scim_ctx=Context.DEFAULT, scim_policy=POLICY)


def create(session: Session, caller: Caller, payload: Mapping[str, Any]) -> User:
    fields = user_fields(parse(payload))
    existing = users_repo.get_by_user_name(session, org_id=caller.org_id, user_name=fields.user_name)
    if existing is not None:
        if not repository.is_deleted(session, existing):
            raise UniquenessException(detail=f"userName {fields.user_name} already exists")
        # Provisioned again after a delete: the same person, with their history.
        return _apply(session, caller, existing, dataclasses.replace(fields, active=fields.active is not False))
    _check_external_id(session, caller, None, fields.external_id)
    _check_email(session, caller, None, fields.email)
    user = users_service.create(
        session,
        caller,
        UserCreate(email=fields.email, user_name=fields.user_name, name=fields.name, external_id=fields.external_id),
    )
    if fields.active is False:
        user = users_service.set_status(session, caller, user.id, active=False)
    return user


def replace(session: Session, caller: Caller, user_id: str, payload: Mapping[str, Any]) -> User:
    user = get(session, caller, user_id)
    return _apply(session, caller, user, user_fields(parse(payload)))


def patch(session: Session, caller: Caller, user_id: str, payload: Mapping[str, Any]) -> User:
    user = get(session, caller, user_id)
    operations = PatchOp[InputUser].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
    state = user_as_input(user)
    before = state.model_copy(deep=True)
    operations.patch(state, scim_policy=POLICY)
    return _apply(session, caller, user, user_fields(state, before=before))


def delete(session: Session, caller: Caller, user_id: str) -> None:
    user = get(session, caller, user_id)
    before = users_service.snapshot(user)
    users_service.set_status(session, caller, user.id, active=False)
    audit.record(
        session, caller, repository.DELETE_ACTION, "user", user.id, before=before, after=users_service.snapshot(user)
    )


def _check_external_id(session: Session, caller: Caller, user: User | None, external_id: str | None) -> None:
    if external_id is None or (user is not None and user.external_id == external_id):
        return
    other = users_repo.get_by_external_id(session, org_id=caller.org_id, external_id=external_id)
    if other is not None and (user is None or other.id != user.id):
        raise UniquenessException(detail=f"externalId {external_id} already exists")


def _check_email(session: Session, caller: Caller, user: User | None, email: str | None) -> None:
    other = users_repo.get_by_email(session, org_id=caller.org_id, email=email) if email else None
    if other is not None and (user is None or other.id != user.id):
        raise UniquenessException(detail=f"email {email} belongs to another user")


def _apply(session: Session, caller: Caller, user: User, fields: UserFields) -> User:
    """Bring a stored user to what SCIM asked for, one audited service call per kind of change."""
    _check_external_id(session, caller, user, fields.external_id)
    _check_email(session, caller, user, fields.email)
    other = users_repo.get_by_user_name(session, org_id=caller.org_id, user_name=fields.user_name)
    if other is not None and other.id != user.id:
        raise UniquenessException(detail=f"userName {fields.user_name} already exists")
    user = users_service.set_identity(session, caller, user.id, email=fields.email, user_name=fields.user_name)
    changes: dict[str, Any] = {}
    if fields.name is not None and fields.name != user.name:
        changes["name"] = fields.name
    if fields.external_id is not None and fields.external_id != user.external_id:
        changes["external_id"] = fields.external_id
    if changes:
        user = users_service.update(session, caller, user.id, UserUpdate(**changes))
    if fields.external_id is None and user.external_id is not None:
        _clear_external_id(session, caller, user)
    if fields.active is not None and fields.active != user.active:
        user = users_service.set_status(session, caller, user.id, active=fields.active)
    return user


def _clear_external_id(session: Session, caller: Caller, user: User) -> None:
    # `users.service.update` reads a null as "leave unchanged", and SCIM may remove `externalId`.
    before = users_service.snapshot(user)
    user.external_id = None
    session.flush()
    audit.record(session, caller, "user.update", "user", user.id, before=before, after=users_service.snapshot(user))
