"""All SQL about groups and memberships."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, func
from sqlalchemy.orm import Session

from covey.models import AccessList, Group, Membership, User, in_org
from covey.plane import journal


def get(session: Session, *, org_id: str, group_id: str) -> Group | None:
    found: Group | None = session.scalar(in_org(Group, org_id).where(Group.id == group_id))
    return found


def all_in_org(session: Session, *, org_id: str) -> Sequence[Group]:
    return session.scalars(in_org(Group, org_id).order_by(Group.name)).all()


def parent_map(session: Session, *, org_id: str) -> dict[str, str | None]:
    return {gid: parent for gid, parent in session.execute(in_org(Group, org_id, Group.id, Group.parent_id))}


def default_groups(session: Session, *, org_id: str) -> Sequence[Group]:
    return session.scalars(in_org(Group, org_id).where(Group.is_default.is_(True)).order_by(Group.name)).all()


def memberships_of_user(session: Session, *, org_id: str, user_id: str) -> Sequence[Membership]:
    return session.scalars(in_org(Membership, org_id).where(Membership.user_id == user_id)).all()


def get_membership(session: Session, *, org_id: str, group_id: str, user_id: str) -> Membership | None:
    found: Membership | None = session.scalar(
        in_org(Membership, org_id).where(Membership.group_id == group_id, Membership.user_id == user_id)
    )
    return found


def add_membership(session: Session, membership: Membership) -> Membership:
    session.add(membership)
    session.flush()
    return membership


def add_memberships(session: Session, memberships: Sequence[Membership]) -> None:
    """Many at once: one batched INSERT, not one round trip each."""
    session.add_all(memberships)
    session.flush()


def remove_membership(session: Session, *, org_id: str, group_id: str, user_id: str) -> None:
    journal.touch(session, users=[user_id])
    session.execute(
        delete(Membership).where(
            Membership.org_id == org_id, Membership.group_id == group_id, Membership.user_id == user_id
        ),
        execution_options={journal.PLANE_NOTED: True},
    )


def groups_by_id(session: Session, *, org_id: str, group_ids: Sequence[str]) -> dict[str, Group]:
    if not group_ids:
        return {}
    return {g.id: g for g in session.scalars(in_org(Group, org_id).where(Group.id.in_(list(group_ids))))}


def member_user_ids(session: Session, *, org_id: str, group_id: str) -> list[str]:
    return list(session.scalars(in_org(Membership, org_id, Membership.user_id).where(Membership.group_id == group_id)))


def add(session: Session, group: Group) -> Group:
    session.add(group)
    session.flush()
    return group


def children_of(session: Session, *, org_id: str, parent_id: str | None) -> Sequence[Group]:
    """The groups directly under `parent_id` (None: the top-level groups)."""
    stmt = in_org(Group, org_id)
    stmt = stmt.where(Group.parent_id.is_(None) if parent_id is None else Group.parent_id == parent_id)
    return session.scalars(stmt.order_by(Group.name)).all()


def member_counts(session: Session, *, org_id: str) -> dict[str, int]:
    """Direct members of every group of the org that has any."""
    rows = session.execute(in_org(Membership, org_id, Membership.group_id, func.count()).group_by(Membership.group_id))
    return {gid: int(count) for gid, count in rows}


def all_memberships(session: Session, *, org_id: str) -> list[tuple[str, str]]:
    """(group id, user id) for every membership of the org."""
    rows = session.execute(in_org(Membership, org_id, Membership.group_id, Membership.user_id))
    return [(gid, uid) for gid, uid in rows]


def members_with_users(session: Session, *, org_id: str, group_id: str) -> list[tuple[Membership, User]]:
    rows = session.execute(
        in_org(Membership, org_id, Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.group_id == group_id, User.org_id == org_id)
        .order_by(User.email)
    )
    return [(m, u) for m, u in rows]


def member_ids_among(session: Session, *, org_id: str, group_id: str, user_ids: Collection[str]) -> set[str]:
    """Which of `user_ids` are already direct members of the group."""
    if not user_ids:
        return set()
    return set(
        session.scalars(
            in_org(Membership, org_id, Membership.user_id).where(
                Membership.group_id == group_id, Membership.user_id.in_(list(user_ids))
            )
        )
    )


def memberships_of_groups(session: Session, *, org_id: str, group_ids: Collection[str]) -> Sequence[Membership]:
    if not group_ids:
        return []
    return session.scalars(
        in_org(Membership, org_id)
        .where(Membership.group_id.in_(list(group_ids)))
        .order_by(Membership.group_id, Membership.user_id)
    ).all()


def get_access_list(session: Session, *, org_id: str, access_list_id: str) -> AccessList | None:
    found: AccessList | None = session.scalar(in_org(AccessList, org_id).where(AccessList.id == access_list_id))
    return found


def delete_groups(session: Session, *, org_id: str, levels: Sequence[Collection[str]]) -> None:
    """Delete groups and their memberships. `levels` lists the groups deepest first: a parent row is
    only deleted once nothing points at it, because `groups.parent_id` is ON DELETE RESTRICT."""
    everything = [gid for level in levels for gid in level]
    if not everything:
        return
    # Bulk statements: the control plane is told which groups went (their members follow from them).
    journal.touch(session, groups=everything)
    noted = {journal.PLANE_NOTED: True}
    session.execute(
        delete(Membership).where(Membership.org_id == org_id, Membership.group_id.in_(everything)),
        execution_options=noted,
    )
    for level in levels:
        session.execute(delete(Group).where(Group.org_id == org_id, Group.id.in_(list(level))), execution_options=noted)
