"""The spend figures the panel shows, summed from the usage ledger (usage records and their charged
groups, docs/design.md §3). Months are calendar months in the organization's time zone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import Session

from covey.models import UsageCharge, UsageRecord, in_org


@dataclass(frozen=True)
class Month:
    label: str  # "2026-11"
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def months(timezone: str, now: datetime, count: int = 12) -> list[Month]:
    """The last `count` calendar months in `timezone`, oldest first, the current one last."""
    zone = ZoneInfo(timezone or "UTC")
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1
    out = []
    for i in range(index - count + 1, index + 1):
        start = datetime(i // 12, i % 12 + 1, 1, tzinfo=zone)
        end = datetime((i + 1) // 12, (i + 1) % 12 + 1, 1, tzinfo=zone)
        out.append(Month(label=f"{start.year}-{start.month:02d}", start=start.astimezone(UTC), end=end.astimezone(UTC)))
    return out


def current_month(timezone: str, now: datetime) -> Month:
    return months(timezone, now, 1)[0]


def _charges(org_id: str, *columns: Any) -> Any:
    return in_org(UsageCharge, org_id, *columns)


def org_total(session: Session, *, org_id: str, month: Month) -> int:
    stmt = in_org(UsageRecord, org_id, func.coalesce(func.sum(UsageRecord.cost_nanos), 0)).where(
        UsageRecord.created_at >= month.start, UsageRecord.created_at < month.end
    )
    return int(session.scalar(stmt) or 0)


def by_group(session: Session, *, org_id: str, month: Month) -> dict[str, int]:
    """Each group's spend, its whole subtree's included (a record charges the key's group and every ancestor)."""
    rows = session.execute(
        _charges(org_id, UsageCharge.group_id, func.sum(UsageCharge.cost_nanos))
        .where(UsageCharge.created_at >= month.start, UsageCharge.created_at < month.end)
        .group_by(UsageCharge.group_id)
    )
    return {gid: int(total or 0) for gid, total in rows}


def by_user(session: Session, *, org_id: str, month: Month) -> dict[str, int]:
    rows = session.execute(
        in_org(UsageRecord, org_id, UsageRecord.user_id, func.sum(UsageRecord.cost_nanos))
        .where(UsageRecord.created_at >= month.start, UsageRecord.created_at < month.end)
        .group_by(UsageRecord.user_id)
    )
    return {uid: int(total or 0) for uid, total in rows}


def by_key(session: Session, *, org_id: str, month: Month) -> dict[str, int]:
    rows = session.execute(
        in_org(UsageRecord, org_id, UsageRecord.key_id, func.sum(UsageRecord.cost_nanos))
        .where(UsageRecord.created_at >= month.start, UsageRecord.created_at < month.end)
        .group_by(UsageRecord.key_id)
    )
    return {kid: int(total or 0) for kid, total in rows}


def members_through_group(session: Session, *, org_id: str, group_id: str, month: Month) -> dict[str, int]:
    """Each user's spend charged to this group (through its keys and its subgroups' keys)."""
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
    """Spend per month, for the org (group_id None) or one group's subtree. One indexed sum per month
    keeps it the same SQL on SQLite and PostgreSQL."""
    out = []
    for month in periods:
        if group_id is None:
            out.append(org_total(session, org_id=org_id, month=month))
            continue
        stmt = _charges(org_id, func.coalesce(func.sum(UsageCharge.cost_nanos), 0)).where(
            UsageCharge.group_id == group_id,
            UsageCharge.created_at >= month.start,
            UsageCharge.created_at < month.end,
        )
        out.append(int(session.scalar(stmt) or 0))
    return out


@dataclass(frozen=True)
class ModelSpend:
    model: str
    requests: int
    cost_nanos: int


def top_models(
    session: Session, *, org_id: str, group_id: str | None, month: Month, limit: int = 8
) -> list[ModelSpend]:
    model = func.coalesce(UsageRecord.model_used, UsageRecord.model_requested)
    cost = func.sum(UsageRecord.cost_nanos)
    stmt = in_org(UsageRecord, org_id, model, func.count(), cost).where(
        UsageRecord.created_at >= month.start, UsageRecord.created_at < month.end
    )
    if group_id is not None:
        stmt = stmt.join(UsageCharge, UsageCharge.usage_id == UsageRecord.id).where(UsageCharge.group_id == group_id)
    rows = session.execute(stmt.group_by(model).order_by(cost.desc()).limit(limit))
    return [ModelSpend(model=m, requests=int(n), cost_nanos=int(c or 0)) for m, n, c in rows]


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
