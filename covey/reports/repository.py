"""All SQL of the reports: sums over the rollup tables, and the same questions over raw usage records.

Every query starts from `in_org`, so one organization never reads another's figures."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, delete, func, literal_column, select
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


# --- Requesty's usage endpoints ------------------------------------------------------------------

COMPLETION_ENDPOINTS = ("chat", "messages", "responses")
EMBEDDING_ENDPOINTS = ("embeddings",)


def _usage_sums(endpoint: Any, requests: Any, cost: Any, inp: Any, out: Any) -> list[ColumnElement[int]]:
    """Completions, embeddings, all requests, spend (nanos), input and output tokens: six integers
    (cast, so PostgreSQL's `sum(bigint)` comes back as an int rather than a Decimal)."""
    sums = [
        func.sum(case((endpoint.in_(COMPLETION_ENDPOINTS), requests), else_=0)),
        func.sum(case((endpoint.in_(EMBEDDING_ENDPOINTS), requests), else_=0)),
        func.sum(requests),
        func.sum(cost),
        func.sum(inp),
        func.sum(out),
    ]
    return [cast(s, BigInteger) for s in sums]


def usage_from_rollups(
    session: Session,
    model: Rollup,
    *,
    org_id: str,
    start: date,
    end: date,
    by: Sequence[Any],
    where: Sequence[Any] = (),
) -> Sequence[Any]:
    """Rows of (*by, completions, embeddings, requests, spend, input, output) over [start, end)."""
    period = model.month if isinstance(model, type) and hasattr(model, "month") else model.day
    sums = _usage_sums(model.endpoint, model.requests, model.cost_nanos, model.input_tokens, model.output_tokens)
    stmt = in_org(model, org_id, *by, *sums).where(period >= start, period < end, *where).group_by(*by)
    # Plain rows straight from the connection: this answer can hold tens of thousands of them.
    return session.connection().execute(stmt).all()


def usage_from_records(
    session: Session,
    *,
    org_id: str,
    start: datetime,
    end: datetime,
    by: Sequence[Any],
    where: Sequence[Any] = (),
) -> Sequence[Any]:
    """The same rows from the raw usage records: hour resolution, `extra.<field>`, ranges that are not
    whole days, and the benchmark's baseline."""
    one: ColumnElement[int] = literal_column("1", BigInteger)
    r = UsageRecord
    sums = _usage_sums(r.endpoint, one, r.cost_nanos, r.input_tokens, r.output_tokens)
    stmt = in_org(r, org_id, *by, *sums).where(r.created_at >= start, r.created_at < end, *where).group_by(*by)
    return session.connection().execute(stmt).all()


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


def org_timezone(session: Session, *, org_id: str) -> str:
    org = session.get(Organization, org_id)
    return (org.timezone if org is not None else None) or "UTC"


def org_timezones(session: Session, org_ids: Collection[str]) -> dict[str, str]:
    """Each named org's timezone, for the rollups of a batch of usage records."""
    if not org_ids:
        return {}
    # cross-org: a batch of usage records can hold any organization's.
    rows = session.execute(select(Organization.id, Organization.timezone).where(Organization.id.in_(list(org_ids))))
    return {oid: tz or "UTC" for oid, tz in rows}


def approved_models(session: Session, *, org_id: str) -> list[str]:
    org = session.get(Organization, org_id)
    return list(org.approved_models or []) if org is not None else []


def key_groups(session: Session, *, org_id: str) -> dict[str, str | None]:
    return {k: g for k, g in session.execute(in_org(ApiKey, org_id, ApiKey.id, ApiKey.group_id))}


def delete_raw_before(session: Session, *, org_id: str | None, before: datetime, batch: int) -> int:
    """Delete one batch of usage records older than `before` (their charges go with them)."""
    # cross-org: without `org_id`, retention applies to every organization.
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
