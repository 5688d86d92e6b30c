"""The SQL the SCIM layer needs beyond the users' and groups' own repositories: filtered pages,
memberships loaded in one query for a whole page, and which users were deleted through SCIM."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, exists, func, select, update
from sqlalchemy.orm import Session

from covey.models import AuditEvent, Group, Membership, ScimToken, User, in_org

M = TypeVar("M", User, Group)

# The audit action of a SCIM delete: the user is deactivated, and hidden from SCIM from then on.
DELETE_ACTION = "user.scim_delete"


def deleted() -> ColumnElement[bool]:
    """Deactivated, and deleted through SCIM since: a reactivation in Covey brings the user back."""
    # cross-org: a correlated subquery, scoped by the user row of the query it joins.
    return and_(
        User.status == "deactivated",
        exists(
            select(AuditEvent.id).where(
                AuditEvent.org_id == User.org_id,
                AuditEvent.target_type == "user",
                AuditEvent.target_id == User.id,
                AuditEvent.action == DELETE_ACTION,
                AuditEvent.occurred_at >= User.deactivated_at,
            )
        ),
    )


def is_deleted(session: Session, user: User) -> bool:
    return bool(session.scalar(select(deleted()).where(User.id == user.id)))


def page(
    session: Session, model: type[M], *, org_id: str, condition: ColumnElement[bool], offset: int, limit: int
) -> tuple[Sequence[M], int]:
    stmt = in_org(model, org_id).where(condition)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if limit == 0:
        return [], total
    order: Any = model.created_at
    rows = session.scalars(stmt.order_by(order, model.id).offset(offset).limit(limit)).all()
    return rows, total


def groups_of_users(session: Session, *, org_id: str, user_ids: Collection[str]) -> dict[str, list[Group]]:
    out: dict[str, list[Group]] = defaultdict(list)
    if not user_ids:
        return out
    rows = session.execute(
        in_org(Membership, org_id, Membership.user_id, Group)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id.in_(list(user_ids)))
        .order_by(Group.name)
    )
    for user_id, group in rows:
        out[user_id].append(group)
    return out


def members_of_groups(session: Session, *, org_id: str, group_ids: Collection[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    if not group_ids:
        return out
    rows = session.execute(
        in_org(Membership, org_id, Membership.group_id, Membership.user_id)
        .where(Membership.group_id.in_(list(group_ids)))
        .order_by(Membership.added_at, Membership.user_id)
    )
    for group_id, user_id in rows:
        out[group_id].append(user_id)
    return out


def existing_user_ids(session: Session, *, org_id: str, user_ids: Collection[str]) -> set[str]:
    if not user_ids:
        return set()
    return set(session.scalars(in_org(User, org_id, User.id).where(User.id.in_(list(user_ids)))))


def group_by_external_id(session: Session, *, org_id: str, external_id: str) -> Group | None:
    return session.scalar(in_org(Group, org_id).where(Group.external_id == external_id))


def tokens(session: Session, *, org_id: str) -> Sequence[ScimToken]:
    return session.scalars(in_org(ScimToken, org_id).order_by(ScimToken.created_at, ScimToken.id)).all()


def token(session: Session, *, org_id: str, token_id: str) -> ScimToken | None:
    return session.scalar(in_org(ScimToken, org_id).where(ScimToken.id == token_id))


def token_by_hash(session: Session, *, token_hash: str) -> ScimToken | None:
    # cross-org: the token is what says which organization the request acts in.
    return session.scalar(select(ScimToken).where(ScimToken.token_hash == token_hash))


def touch_token(session: Session, *, token_id: str, at: datetime) -> None:
    session.execute(update(ScimToken).where(ScimToken.id == token_id).values(last_used_at=at))
