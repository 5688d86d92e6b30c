from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin


class Organization(IdMixin, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    # Org-wide allow-list of model ids; empty means every model.
    approved_models: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_monthly_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)
    monthly_cap: Mapped[int | None] = mapped_column(BigInteger, default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    guardrails: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"requests_per_minute", "tokens_per_minute", "concurrent"}; null or absent = no limit.
    rate_limits: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    # Plain column (no foreign key, which would make organizations and access_lists refer to each other);
    # the service checks it and clears it when the list is deleted.
    default_group_access_list_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
