from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped


class ScimToken(IdMixin, OrgScoped, Base):
    """A bearer token for an identity provider's SCIM client; only its hash is kept."""

    __tablename__ = "scim_tokens"

    name: Mapped[str] = mapped_column(String(200), default="scim")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
