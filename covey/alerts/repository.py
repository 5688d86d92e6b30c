"""SQL for alerts: events (the first insert of a (line, threshold, period) wins), webhooks, the
delivery log, and daily spend for the unusual-usage baseline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from covey.kit.db import Database
from covey.models import (
    AlertDelivery,
    AlertEvent,
    ApiKey,
    Group,
    Organization,
    UsageCharge,
    UsageRecord,
    User,
    Webhook,
    in_org,
    user_label,
)


def insert_once(db: Database, event: AlertEvent) -> bool:
    """True when this insert fired the alert; False when another request or replica already had."""
    try:
        with db.transaction() as session:
            session.add(event)
            session.flush()
    except IntegrityError:
        return False
    return True


def enabled_webhooks(session: Session, *, org_id: str) -> Sequence[Webhook]:
    return session.scalars(in_org(Webhook, org_id).where(Webhook.enabled.is_(True)).order_by(Webhook.created_at)).all()


def webhooks(session: Session, *, org_id: str) -> Sequence[Webhook]:
    return session.scalars(in_org(Webhook, org_id).order_by(Webhook.created_at, Webhook.id)).all()


def get_webhook(session: Session, *, org_id: str, webhook_id: str) -> Webhook | None:
    hook: Webhook | None = session.scalar(in_org(Webhook, org_id).where(Webhook.id == webhook_id))
    return hook


def log_attempt(db: Database, attempt: AlertDelivery) -> None:
    with db.transaction() as session:
        session.add(attempt)


def alerts(
    session: Session, *, org_id: str, since: datetime | None, limit: int, offset: int
) -> tuple[Sequence[AlertEvent], int]:
    stmt = in_org(AlertEvent, org_id)
    if since is not None:
        stmt = stmt.where(AlertEvent.fired_at >= since)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(AlertEvent.fired_at.desc(), AlertEvent.id).limit(limit).offset(offset)).all()
    return rows, total


def attempts_of(session: Session, *, org_id: str, alert_ids: Sequence[str]) -> Sequence[AlertDelivery]:
    if not alert_ids:
        return []
    return session.scalars(
        in_org(AlertDelivery, org_id)
        .where(AlertDelivery.alert_id.in_(list(alert_ids)))
        .order_by(AlertDelivery.webhook_id, AlertDelivery.attempt)
    ).all()


def owner_name(session: Session, *, org_id: str, owner_type: str, owner_id: str) -> str:
    if owner_type in ("group", "member"):
        found = session.scalar(in_org(Group, org_id, Group.name).where(Group.id == owner_id))
    elif owner_type == "user":
        found = session.scalar(in_org(User, org_id, user_label()).where(User.id == owner_id))
    elif owner_type == "key":
        found = session.scalar(in_org(ApiKey, org_id, ApiKey.name).where(ApiKey.id == owner_id))
    else:
        found = session.scalar(select(Organization.name).where(Organization.id == org_id))
    return found or owner_id


def spend_between(
    session: Session, *, org_id: str, owner_type: str, owner_id: str, start: datetime, end: datetime
) -> int:
    if owner_type == "group":
        stmt = select(func.coalesce(func.sum(UsageCharge.cost_nanos), 0)).where(
            UsageCharge.org_id == org_id,
            UsageCharge.group_id == owner_id,
            UsageCharge.created_at >= start,
            UsageCharge.created_at < end,
        )
    else:
        stmt = select(func.coalesce(func.sum(UsageRecord.cost_nanos), 0)).where(
            UsageRecord.org_id == org_id,
            UsageRecord.user_id == owner_id,
            UsageRecord.created_at >= start,
            UsageRecord.created_at < end,
        )
    return int(session.scalar(stmt) or 0)


def org_timezone(session: Session, *, org_id: str) -> str:
    return session.scalar(select(Organization.timezone).where(Organization.id == org_id)) or "UTC"
