"""All SQL of the reports: sums over the rollup tables, and the same questions over raw usage records.

Every query starts from `in_org`, so one organization never reads another's figures."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from covey.models import AccessList, ApiKey, Group, Membership, Organization, UsageRecord, User, in_org
from covey.reports.tables import COUNTERS, GroupMonthRollup, GroupRollup, UsageRollup, UserMonthRollup

Rollup = type[UsageRollup] | type[GroupRollup] | type[GroupMonthRollup] | type[UserMonthRollup]


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def sum_rollups(
    session: Session,
    model: Rollup,
    *,
    org_id: str,
    start: date,
    end: date,
    by: Sequence[Any] = (),
    where: Sequence[Any] = (),
    counters: Sequence[str] = COUNTERS,
) -> Sequence[Any]:
    """Rows of (*by, *counters) summed over the days (or, in a month table, the months) [start, end)."""
    sums = [func.coalesce(func.sum(getattr(model, c)), 0).label(c) for c in counters]
    period = model.month if isinstance(model, type) and hasattr(model, "month") else model.day
    stmt = in_org(model, org_id, *by, *sums).where(period >= start, period < end, *where)
    if by:
        stmt = stmt.group_by(*by)
    return session.execute(stmt).all()


def last_active_days(session: Session, *, org_id: str, since: date) -> dict[str, date]:
    """Each user's last day with a request, for users with one on or after `since`."""
    rows = session.execute(
        in_org(UsageRollup, org_id, UsageRollup.user_id, func.max(UsageRollup.day))
        .where(UsageRollup.day >= since)
        .group_by(UsageRollup.user_id)
    )
    return {user_id: day for user_id, day in rows}


def last_active_months(session: Session, *, org_id: str) -> dict[str, date]:
    """Each user's last month with a request (a small table, read whole)."""
    rows = session.execute(
        in_org(UserMonthRollup, org_id, UserMonthRollup.user_id, func.max(UserMonthRollup.month)).group_by(
            UserMonthRollup.user_id
        )
    )
    return {user_id: month for user_id, month in rows}


# --- raw usage records: hour resolution, extra.<field>, and the benchmark's baselines ---------------


def raw_counters() -> list[ColumnElement[Any]]:
    return [
        func.count().label("requests"),
        func.coalesce(func.sum(UsageRecord.cost_nanos), 0).label("cost_nanos"),
        func.coalesce(func.sum(UsageRecord.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(UsageRecord.output_tokens), 0).label("output_tokens"),
    ]


def sum_raw(
    session: Session,
    *,
    org_id: str,
    start: datetime,
    end: datetime,
    by: Sequence[Any],
    where: Sequence[Any] = (),
) -> Sequence[Any]:
    stmt = in_org(UsageRecord, org_id, *by, *raw_counters()).where(
        UsageRecord.created_at >= start, UsageRecord.created_at < end, *where
    )
    return session.execute(stmt.group_by(*by) if by else stmt).all()


def failed() -> ColumnElement[int]:
    return case((or_(UsageRecord.status >= 400, UsageRecord.status == 0), 1), else_=0)


# --- the objects reports describe ------------------------------------------------------------------


def groups(session: Session, *, org_id: str) -> Sequence[Group]:
    return session.scalars(in_org(Group, org_id).order_by(Group.name)).all()


def users(session: Session, *, org_id: str, user_ids: Collection[str] | None = None) -> Sequence[User]:
    stmt = in_org(User, org_id)
    if user_ids is not None:
        stmt = stmt.where(User.id.in_(list(user_ids)))
    return session.scalars(stmt).all()


def user(session: Session, *, org_id: str, user_id: str) -> User | None:
    found: User | None = session.scalar(in_org(User, org_id).where(User.id == user_id))
    return found


def memberships(session: Session, *, org_id: str) -> Sequence[Membership]:
    return session.scalars(in_org(Membership, org_id)).all()


def access_lists(session: Session, *, org_id: str) -> dict[str, AccessList]:
    return {a.id: a for a in session.scalars(in_org(AccessList, org_id))}


def approved_models(session: Session, *, org_id: str) -> list[str]:
    org = session.get(Organization, org_id)
    return list(org.approved_models or []) if org is not None else []


def key_groups(session: Session, *, org_id: str) -> dict[str, str | None]:
    return {k: g for k, g in session.execute(in_org(ApiKey, org_id, ApiKey.id, ApiKey.group_id))}


def delete_raw_before(session: Session, *, org_id: str | None, before: datetime, batch: int) -> int:
    """Delete one batch of usage records older than `before` (their charges go with them)."""
    ids = select(UsageRecord.id).where(UsageRecord.created_at < before)
    if org_id is not None:
        ids = ids.where(UsageRecord.org_id == org_id)
    chosen = [row[0] for row in session.execute(ids.limit(batch))]
    if not chosen:
        return 0
    session.execute(delete(UsageRecord).where(UsageRecord.id.in_(chosen)))
    return len(chosen)


def own_rows(model: type[GroupRollup] | type[GroupMonthRollup] = GroupRollup) -> ColumnElement[bool]:
    return and_(model.own.is_(True))
