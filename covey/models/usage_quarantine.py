from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin


class QuarantinedUsage(IdMixin, Base):
    """A usage record the database refused, kept as JSON with the reason, so the rest of its batch lands.
    No foreign key: it must be writable whatever the record holds."""

    __tablename__ = "usage_quarantine"

    quarantined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    org_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)
