from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped, Timestamps

ORG_ROLES = ("owner", "admin", "member")
USER_STATUSES = ("active", "deactivated")


class User(IdMixin, OrgScoped, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("org_id", "email", name="uq_users_org_email"),
        Index("ix_users_org_external_id", "org_id", "external_id"),
    )

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="member")
    status: Mapped[str] = mapped_column(String(16), default="active")
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Who set the monthly limit (null: the org default, the command line or SCIM): see DESIGN §2.
    limit_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    rate_limits: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def active(self) -> bool:
        return self.status == "active"
