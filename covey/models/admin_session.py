from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped


class AdminSession(OrgScoped, Base):
    """A signed-in admin panel session. The cookie carries the token; only its hash is kept, so
    signing out (or deleting the row) ends the session everywhere."""

    __tablename__ = "admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignInFailure(IdMixin, Base):
    """A refused panel sign-in, kept for the lock-out window. Keyed by the email typed, which may
    belong to no one (and to users of several organizations), so it is not org-scoped, and by the
    client address it came from: failures from one address never lock out another."""

    __tablename__ = "admin_sign_in_failures"
    __table_args__ = (
        Index("ix_admin_sign_in_failures_email_time", "email", "occurred_at"),
        Index("ix_admin_sign_in_failures_client_time", "client", "occurred_at"),
    )

    email: Mapped[str] = mapped_column(String(320))
    client: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
