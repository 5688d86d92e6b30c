from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped

ACTOR_KINDS = ("user", "key", "scim", "system")


class AuditEvent(IdMixin, OrgScoped, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_org_time", "org_id", "occurred_at"),
        Index("ix_audit_org_target", "org_id", "target_type", "target_id"),
    )

    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    # The key used, when the actor is a user acting through a key.
    via_key_id: Mapped[str | None] = mapped_column(String(36), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(36), default=None)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
