"""All SQL about groups and memberships."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.orm import Session

from covey.models import Group, Membership, in_org


def get(session: Session, *, org_id: str, group_id: str) -> Group | None:
    return session.scalar(in_org(Group, org_id).where(Group.id == group_id))


def all_in_org(session: Session, *, org_id: str) -> Sequence[Group]:
    return session.scalars(in_org(Group, org_id).order_by(Group.name)).all()


def parent_map(session: Session, *, org_id: str) -> dict[str, str | None]:
    return {gid: parent for gid, parent in session.execute(in_org(Group, org_id, Group.id, Group.parent_id))}


def default_groups(session: Session, *, org_id: str) -> Sequence[Group]:
    return session.scalars(in_org(Group, org_id).where(Group.is_default.is_(True)).order_by(Group.name)).all()


def memberships_of_user(session: Session, *, org_id: str, user_id: str) -> Sequence[Membership]:
    return session.scalars(in_org(Membership, org_id).where(Membership.user_id == user_id)).all()


def get_membership(session: Session, *, org_id: str, group_id: str, user_id: str) -> Membership | None:
    return session.scalar(
        in_org(Membership, org_id).where(Membership.group_id == group_id, Membership.user_id == user_id)
    )


def add_membership(session: Session, membership: Membership) -> Membership:
    session.add(membership)
    session.flush()
    return membership


def remove_membership(session: Session, *, org_id: str, group_id: str, user_id: str) -> None:
    session.execute(
        delete(Membership).where(
            Membership.org_id == org_id, Membership.group_id == group_id, Membership.user_id == user_id
        )
    )


def groups_by_id(session: Session, *, org_id: str, group_ids: Sequence[str]) -> dict[str, Group]:
    if not group_ids:
        return {}
    return {g.id: g for g in session.scalars(in_org(Group, org_id).where(Group.id.in_(list(group_ids))))}


def member_user_ids(session: Session, *, org_id: str, group_id: str) -> list[str]:
    return list(session.scalars(in_org(Membership, org_id, Membership.user_id).where(Membership.group_id == group_id)))
