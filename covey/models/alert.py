from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped, Timestamps

WEBHOOK_FORMATS = ("generic", "slack")


class Webhook(IdMixin, OrgScoped, Timestamps, Base):
    __tablename__ = "webhooks"

    url: Mapped[str] = mapped_column(String(2000))
    format: Mapped[str] = mapped_column(String(16), default="generic")
    # Signs every delivery (HMAC-SHA256); shown once, at creation. Kept in clear: signing needs it.
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: the whole organization's alerts; a group: alerts on that group or any group under it.
    # No foreign key: a webhook whose group is deleted keeps the id and receives nothing.
    group_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)


class AlertEvent(IdMixin, OrgScoped, Base):
    """One alert: a line crossing a threshold in a period, or unusual usage on a day. The unique
    constraint makes it fire once even when several replicas see the crossing: the first insert wins."""

    __tablename__ = "alert_events"
    __table_args__ = (
        UniqueConstraint("org_id", "line_id", "threshold", "period_key", name="uq_alert_events_once"),
        Index("ix_alert_events_org_fired", "org_id", "fired_at"),
    )

    # `budget.threshold` or `usage.unusual`.
    kind: Mapped[str] = mapped_column(String(32))
    # The webhook payload's `type`, e.g. `group.budget.exceeded_percent`.
    type: Mapped[str] = mapped_column(String(64))
    line_id: Mapped[str] = mapped_column(String(120))
    owner_type: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[str] = mapped_column(String(36))
    member_id: Mapped[str | None] = mapped_column(String(36), default=None)
    threshold: Mapped[int] = mapped_column(Integer)
    period_key: Mapped[str] = mapped_column(String(16))
    budget_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    spend_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertDelivery(IdMixin, OrgScoped, Base):
    """One attempt to deliver an alert to one webhook; every attempt is kept."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_alert", "alert_id", "attempt"),)

    alert_id: Mapped[str] = mapped_column(String(36), ForeignKey("alert_events.id", ondelete="CASCADE"))
    # No foreign key: the log outlives a deleted webhook.
    webhook_id: Mapped[str] = mapped_column(String(36))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
