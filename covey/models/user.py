from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ColumnElement, Index, String, UniqueConstraint, func
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
        UniqueConstraint("org_id", "user_name", name="uq_users_org_user_name"),
        UniqueConstraint("org_id", "oidc_subject", name="uq_users_org_oidc_subject"),
    )

    # A person has an email, a SCIM userName, or both; every other view names them by `label`.
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # The SCIM userName when it is not the email itself (RFC 7643: any unique string).
    user_name: Mapped[str | None] = mapped_column(String(320), default=None)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="member")
    status: Mapped[str] = mapped_column(String(16), default="active")
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Who set the monthly limit (null: the org default, the command line or SCIM): see docs/design.md §2.
    limit_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    rate_limits: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    # The `sub` of the org's OpenID Connect issuer this person signs in as, once linked.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def scim_user_name(self) -> str:
        return self.user_name or self.email or self.id

    @property
    def label(self) -> str:
        """How lists, messages and the audit log name the person."""
        return self.email or self.user_name or self.name or self.id


def user_label() -> ColumnElement[str]:
    """`User.label` in SQL."""
    return func.coalesce(User.email, User.user_name, User.name)
