"""All SQL of the panel: its own tables (sessions, refused sign-ins), and the spend figures it shows,
summed from the usage ledger (usage records and their charged groups, docs/design.md §3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from covey.admin.spend import Month
from covey.models import AdminSession, SignInFailure, UsageCharge, UsageRecord, User, in_org


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


# --- spend, from the usage ledger ---------------------------------------------------------------


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
