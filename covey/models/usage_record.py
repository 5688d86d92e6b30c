from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped


class UsageRecord(IdMixin, OrgScoped, Base):
    """One gateway request, immutable once written (docs/design.md §2)."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_org_created", "org_id", "created_at"),
        Index("ix_usage_records_key_created", "key_id", "created_at"),
        Index("ix_usage_records_user_created", "user_id", "created_at"),
    )

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # No foreign keys to keys, users or groups: history outlives them.
    key_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    group_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # The key's group and every ancestor, fixed when the request was made (docs/design.md §3);
    # `usage_charges` holds the same set as rows, for fast per-group sums.
    charged_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    endpoint: Mapped[str] = mapped_column(String(32))
    model_requested: Mapped[str] = mapped_column(String(200))
    model_used: Mapped[str | None] = mapped_column(String(200), default=None)
    provider_used: Mapped[str | None] = mapped_column(String(100), default=None)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    ttft_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Guardrail hits by category ({"pii": 2}); never the text found.
    guardrails: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    trace_id: Mapped[str | None] = mapped_column(String(200), default=None)
    end_user_id: Mapped[str | None] = mapped_column(String(200), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # `X-Covey-*` request headers, name (lower case, without the prefix) → value.
    dimensions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Only when the key's `logging` flag is on.
    request_body: Mapped[str | None] = mapped_column(Text, default=None)
    response_body: Mapped[str | None] = mapped_column(Text, default=None)


class UsageCharge(Base):
    """One row per charged group of a usage record: the analytics sum a group's spend from here."""

    __tablename__ = "usage_charges"
    __table_args__ = (Index("ix_usage_charges_group_created", "org_id", "group_id", "created_at"),)

    usage_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("usage_records.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), ForeignKey("organizations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    # Whether the key's own group (depth 0) or an ancestor: a subtree total needs only depth-0 rows.
    depth: Mapped[int] = mapped_column(Integer, default=0)
