"""All SQL of the panel: its own tables (sessions, refused sign-ins), and the spend figures it shows —
from the rollups the reports read, by the months of the org's calendar, so a page and a report on the
same month agree to the nano-dollar (docs/design.md §4). What no rollup keeps (a user's spend through
a charged group, every feature named) is summed from the usage ledger over the same month."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from covey.admin.spend import Month
from covey.models import AdminSession, SignInFailure, UsageCharge, UsageRecord, User, in_org
from covey.reports.tables import GroupMonthRollup, UsageRollup, UserMonthRollup


def users_by_email(session: Session, *, email: str) -> Sequence[User]:
    """Emails are unique within an organization, not across them: every user who has this one."""
    # cross-org: signing in names an email, not an organization.
    return session.scalars(select(User).where(User.email == email.lower()).order_by(User.created_at)).all()


def add_session(session: Session, row: AdminSession) -> None:
    session.add(row)
    session.flush()


def session_with_user(session: Session, *, token_hash: str) -> tuple[AdminSession, User] | None:
    # cross-org: the session token is what says which organization the panel acts in.
    row = session.execute(
        select(AdminSession, User)
        .join(User, User.id == AdminSession.user_id)
        .where(AdminSession.token_hash == token_hash, User.org_id == AdminSession.org_id)
    ).first()
    return (row[0], row[1]) if row else None


def delete_session(session: Session, *, token_hash: str) -> None:
    session.execute(delete(AdminSession).where(AdminSession.token_hash == token_hash))


def delete_expired_sessions(session: Session, *, now: datetime) -> None:
    session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))


def add_failure(session: Session, *, email: str, client: str, at: datetime) -> None:
    session.add(SignInFailure(email=email, client=client, occurred_at=at))
    session.flush()


def failures_since(
    session: Session, *, since: datetime, client: str, email: str | None = None
) -> tuple[int, datetime | None]:
    """How many refused sign-ins from this client address (for this email, when one is named) since
    `since`, and the oldest of them."""
    conditions = [SignInFailure.client == client, SignInFailure.occurred_at >= since]
    if email is not None:
        conditions.append(SignInFailure.email == email)
    count, oldest = session.execute(select(func.count(), func.min(SignInFailure.occurred_at)).where(*conditions)).one()
    return int(count), oldest


def clear_failures(session: Session, *, email: str, client: str) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.email == email, SignInFailure.client == client))


def prune_failures(session: Session, *, before: datetime) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.occurred_at < before))


# --- spend: the rollups the reports read, by the months of the org's calendar ---------------------


def _charges(org_id: str, *columns: Any) -> Any:
    return in_org(UsageCharge, org_id, *columns)


def _month_sums(model: type[GroupMonthRollup] | type[UserMonthRollup], org_id: str, month: Month, *by: Any) -> Any:
    stmt = in_org(model, org_id, *by, func.coalesce(func.sum(model.cost_nanos), 0)).where(model.month == month.first)
    return stmt.group_by(*by) if by else stmt


def org_total(session: Session, *, org_id: str, month: Month) -> int:
    """The org's spend: the `own` rows count each request once (personal keys under group '')."""
    stmt = _month_sums(GroupMonthRollup, org_id, month).where(GroupMonthRollup.own.is_(True))
    return int(session.scalar(stmt) or 0)


def by_group(session: Session, *, org_id: str, month: Month) -> dict[str, int]:
    """Each group's spend, its whole subtree's included (a record charges the key's group and every ancestor)."""
    rows = session.execute(_month_sums(GroupMonthRollup, org_id, month, GroupMonthRollup.group_id))
    return {gid: int(total) for gid, total in rows if gid}


def by_user(session: Session, *, org_id: str, month: Month) -> dict[str, int]:
    rows = session.execute(_month_sums(UserMonthRollup, org_id, month, UserMonthRollup.user_id))
    return {uid: int(total) for uid, total in rows}


def by_key(session: Session, *, org_id: str, month: Month) -> dict[str, int]:
    """From the day rollups: the days of the org's calendar that make up the month."""
    rows = session.execute(
        in_org(UsageRollup, org_id, UsageRollup.key_id, func.sum(UsageRollup.cost_nanos))
        .where(UsageRollup.day >= month.first, UsageRollup.day < month.next)
        .group_by(UsageRollup.key_id)
    )
    return {kid: int(total or 0) for kid, total in rows}


def members_through_group(session: Session, *, org_id: str, group_id: str, month: Month) -> dict[str, int]:
    """Each user's spend charged to this group (through its keys and its subgroups' keys), from the usage
    ledger (no rollup keeps user by charged group), over the same month's instants."""
    rows = session.execute(
        _charges(org_id, UsageRecord.user_id, func.sum(UsageCharge.cost_nanos))
        .join(UsageRecord, UsageRecord.id == UsageCharge.usage_id)
        .where(
            UsageCharge.group_id == group_id,
            UsageCharge.created_at >= month.start,
            UsageCharge.created_at < month.end,
        )
        .group_by(UsageRecord.user_id)
    )
    return {uid: int(total or 0) for uid, total in rows}


def trend(session: Session, *, org_id: str, group_id: str | None, periods: Sequence[Month]) -> list[int]:
    """Spend per month, for the org (group_id None) or one group's subtree."""
    if not periods:
        return []
    m = GroupMonthRollup
    stmt = in_org(m, org_id, m.month, func.sum(m.cost_nanos)).where(
        m.month >= periods[0].first, m.month <= periods[-1].first
    )
    stmt = stmt.where(m.own.is_(True)) if group_id is None else stmt.where(m.group_id == group_id)
    spent = {month: int(total or 0) for month, total in session.execute(stmt.group_by(m.month))}
    return [spent.get(month.first, 0) for month in periods]


@dataclass(frozen=True)
class ModelSpend:
    model: str
    requests: int
    cost_nanos: int


def top_models(
    session: Session, *, org_id: str, group_id: str | None, month: Month, limit: int = 8
) -> list[ModelSpend]:
    m = GroupMonthRollup
    model = case((m.model_used != "", m.model_used), else_=m.model_requested)
    cost = func.sum(m.cost_nanos)
    stmt = in_org(m, org_id, model, func.sum(m.requests), cost).where(m.month == month.first)
    stmt = stmt.where(m.own.is_(True)) if group_id is None else stmt.where(m.group_id == group_id)
    rows = session.execute(stmt.group_by(model).order_by(cost.desc(), model).limit(limit))
    return [ModelSpend(model=name, requests=int(n or 0), cost_nanos=int(c or 0)) for name, n, c in rows]


def feature_use(session: Session, *, org_id: str, group_id: str, month: Month) -> list[tuple[str, int]]:
    """Requests per feature used (streaming, tools, …) this month; features are a JSON list per record."""
    stmt = (
        in_org(UsageRecord, org_id, UsageRecord.features)
        .join(UsageCharge, UsageCharge.usage_id == UsageRecord.id)
        .where(
            UsageCharge.group_id == group_id, UsageRecord.created_at >= month.start, UsageRecord.created_at < month.end
        )
    )
    counts: Counter[str] = Counter()
    for features in session.scalars(stmt):
        counts.update(features or ())
    return counts.most_common()
