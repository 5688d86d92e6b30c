from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped, Timestamps

PERMISSION_LEVELS = ("none", "read", "write")


class ApiKey(IdMixin, OrgScoped, Timestamps, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # No foreign key on purpose: a key whose group was deleted keeps pointing at it and grants nothing.
    group_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    manage: Mapped[str] = mapped_column(String(8), default="none")
    completions: Mapped[str] = mapped_column(String(8), default="write")
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)
    access_list_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("access_lists.id", ondelete="RESTRICT"), default=None
    )
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rate_limits: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    guardrails: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    logging: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    # Who set the limit and the expiry (null: the command line or no one known, i.e. the org's): only
    # a caller whose rights include theirs may raise, remove or extend them (docs/design.md §2).
    limit_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    expiry_set_by: Mapped[str | None] = mapped_column(String(36), default=None)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now
