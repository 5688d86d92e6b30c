"""All SQL about access lists and where they are attached."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from covey.models import AccessList, ApiKey, Group, Organization, in_org
from covey.plane import journal


def get(session: Session, *, org_id: str, access_list_id: str) -> AccessList | None:
    found: AccessList | None = session.scalar(in_org(AccessList, org_id).where(AccessList.id == access_list_id))
    return found


def get_by_name(session: Session, *, org_id: str, name: str) -> AccessList | None:
    found: AccessList | None = session.scalar(
        in_org(AccessList, org_id).where(func.lower(AccessList.name) == name.lower())
    )
    return found


def all_in_org(session: Session, *, org_id: str) -> Sequence[AccessList]:
    return session.scalars(in_org(AccessList, org_id).order_by(AccessList.name, AccessList.id)).all()


def add(session: Session, access_list: AccessList) -> AccessList:
    session.add(access_list)
    session.flush()
    return access_list


def delete(session: Session, access_list: AccessList) -> None:
    session.delete(access_list)
    session.flush()


def group_count(session: Session, *, org_id: str, access_list_id: str) -> int:
    stmt = in_org(Group, org_id, func.count()).where(Group.access_list_id == access_list_id)
    return session.scalar(stmt) or 0


def live_key_count(session: Session, *, org_id: str, access_list_id: str) -> int:
    stmt = in_org(ApiKey, org_id, func.count()).where(
        ApiKey.access_list_id == access_list_id, ApiKey.revoked_at.is_(None)
    )
    return session.scalar(stmt) or 0


def detach_from_revoked_keys(session: Session, *, org_id: str, access_list_id: str) -> None:
    """Revoked keys grant nothing and cannot be edited, so they never hold a list in place."""
    journal.touch(session, lists=[access_list_id])  # the keys that held it are recompiled
    session.execute(
        update(ApiKey)
        .where(ApiKey.org_id == org_id, ApiKey.access_list_id == access_list_id, ApiKey.revoked_at.is_not(None))
        .values(access_list_id=None),
        execution_options={journal.PLANE_NOTED: True},
    )


def is_org_default(session: Session, *, org_id: str, access_list_id: str) -> bool:
    stmt = select(Organization.id).where(
        Organization.id == org_id, Organization.default_group_access_list_id == access_list_id
    )
    return session.scalar(stmt) is not None
