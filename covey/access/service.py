"""Rules about access lists: org admins write them, anyone in the org reads them, and a list cannot be
deleted while a group, a key or the organization's group default still uses it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from covey.access import repository
from covey.access.schemas import AccessListCreate, AccessListOut, AccessListUpdate
from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.kit.errors import Conflict, NotFound
from covey.models import MODALITIES, AccessList


def snapshot(access_list: AccessList) -> dict[str, Any]:
    return AccessListOut.of(access_list).model_dump(mode="json")


def _check_name_free(session: Session, caller: Caller, name: str, *, except_id: str | None = None) -> None:
    found = repository.get_by_name(session, org_id=caller.org_id, name=name)
    if found is not None and found.id != except_id:
        raise Conflict(f"name: an access list named {found.name} already exists")


def get(session: Session, caller: Caller, access_list_id: str) -> AccessList:
    found = repository.get(session, org_id=caller.org_id, access_list_id=access_list_id)
    if found is None:
        raise NotFound("access list not found")
    return found


def list_all(session: Session, caller: Caller) -> list[AccessList]:
    return list(repository.all_in_org(session, org_id=caller.org_id))


def create(session: Session, caller: Caller, data: AccessListCreate) -> AccessList:
    caller.require_org_admin("Managing access lists")
    _check_name_free(session, caller, data.name)
    access_list = repository.add(session, AccessList(org_id=caller.org_id, **data.model_dump()))
    audit.record(session, caller, "access_list.create", "access_list", access_list.id, after=snapshot(access_list))
    return access_list


def update(session: Session, caller: Caller, access_list_id: str, data: AccessListUpdate) -> AccessList:
    access_list = get(session, caller, access_list_id)
    caller.require_org_admin("Managing access lists")
    fields = data.model_dump(exclude_unset=True)
    if "name" in fields:
        _check_name_free(session, caller, fields["name"], except_id=access_list.id)
    before = snapshot(access_list)
    for name, value in fields.items():
        # A new list object, so the JSON column is seen as changed.
        setattr(access_list, name, list(value) if name in MODALITIES else value)
    session.flush()
    audit.record(
        session, caller, "access_list.update", "access_list", access_list.id, before=before, after=snapshot(access_list)
    )
    return access_list


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def delete(session: Session, caller: Caller, access_list_id: str) -> None:
    access_list = get(session, caller, access_list_id)
    caller.require_org_admin("Managing access lists")
    groups = repository.group_count(session, org_id=caller.org_id, access_list_id=access_list.id)
    keys = repository.live_key_count(session, org_id=caller.org_id, access_list_id=access_list.id)
    uses = [_count(n, noun) for n, noun in ((groups, "group"), (keys, "key")) if n]
    if repository.is_org_default(session, org_id=caller.org_id, access_list_id=access_list.id):
        uses.append("the organization's group default")
    if uses:
        raise Conflict("access list is assigned to " + " and ".join(uses))
    before = snapshot(access_list)
    repository.detach_from_revoked_keys(session, org_id=caller.org_id, access_list_id=access_list.id)
    repository.delete(session, access_list)
    audit.record(session, caller, "access_list.delete", "access_list", access_list.id, before=before)
