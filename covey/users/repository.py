from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from covey.models import AdminSession, Membership, User, in_org

# Rows per IN (…) list: well under SQLite's and PostgreSQL's parameter limits.
_BATCH = 500


def get(session: Session, *, org_id: str, user_id: str) -> User | None:
    return session.scalar(in_org(User, org_id).where(User.id == user_id))


def get_by_email(session: Session, *, org_id: str, email: str) -> User | None:
    return session.scalar(in_org(User, org_id).where(User.email == email.lower()))


def get_by_external_id(session: Session, *, org_id: str, external_id: str) -> User | None:
    return session.scalar(in_org(User, org_id).where(User.external_id == external_id))


def with_emails(session: Session, *, org_id: str, emails: Collection[str]) -> Sequence[User]:
    return session.scalars(in_org(User, org_id).where(User.email.in_(emails))).all()


def existing_ids(session: Session, *, org_id: str, user_ids: Collection[str]) -> set[str]:
    return set(session.scalars(in_org(User, org_id, User.id).where(User.id.in_(list(user_ids)))))


def taken_emails(session: Session, *, org_id: str, emails: Collection[str]) -> list[str]:
    found: list[str] = []
    wanted = sorted({e.lower() for e in emails})
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        found += session.scalars(in_org(User, org_id, User.email).where(User.email.in_(chunk))).all()
    return sorted(found)


def user_name_column() -> ColumnElement[str]:
    """A person's userName: their own, else their email (lowercase for comparing)."""
    return func.lower(func.coalesce(User.user_name, User.email))


def get_by_user_name(session: Session, *, org_id: str, user_name: str) -> User | None:
    return session.scalar(in_org(User, org_id).where(user_name_column() == user_name.lower()))


def taken_user_names(session: Session, *, org_id: str, user_names: Collection[str]) -> list[str]:
    found: list[str] = []
    wanted = sorted({n.lower() for n in user_names})
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        found += session.scalars(in_org(User, org_id, user_name_column()).where(user_name_column().in_(chunk))).all()
    return sorted(found)


def taken_external_ids(session: Session, *, org_id: str, external_ids: Collection[str]) -> list[str]:
    found: list[str] = []
    wanted = sorted(set(external_ids))
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        found += [
            x
            for x in session.scalars(in_org(User, org_id, User.external_id).where(User.external_id.in_(chunk)))
            if x is not None
        ]
    return sorted(found)


def add_all(session: Session, users: Sequence[User]) -> None:
    session.add_all(users)
    session.flush()


def add(session: Session, user: User) -> User:
    session.add(user)
    session.flush()
    return user


def search(
    session: Session,
    *,
    org_id: str,
    q: str | None,
    role: str | None,
    status: str | None,
    group_ids: Collection[str] | None,
    visible_to_groups: Collection[str] | None,
    visible_user_id: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[User], int]:
    """`group_ids`: people in any of these groups (directly). `visible_*` narrow the result for callers
    who are not org admins (None = no narrowing)."""
    stmt = in_org(User, org_id)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(like),
                func.lower(User.user_name).like(like),
                func.lower(User.name).like(like),
            )
        )
    if role:
        stmt = stmt.where(User.role == role)
    if status:
        stmt = stmt.where(User.status == status)
    if group_ids is not None:
        stmt = stmt.where(
            User.id.in_(in_org(Membership, org_id, Membership.user_id).where(Membership.group_id.in_(list(group_ids))))
        )
    if visible_to_groups is not None:
        members = in_org(Membership, org_id, Membership.user_id).where(Membership.group_id.in_(list(visible_to_groups)))
        in_groups = User.id.in_(members)
        stmt = stmt.where(or_(in_groups, User.id == visible_user_id))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(User.email).limit(limit).offset(offset)).all()
    return rows, total


def end_panel_sessions(session: Session, *, org_id: str, user_id: str) -> None:
    """Sign the user out of the admin panel everywhere."""
    session.execute(delete(AdminSession).where(AdminSession.org_id == org_id, AdminSession.user_id == user_id))
