from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base, UTCDateTime
from covey.models.base import IdMixin, OrgScoped, Timestamps

GROUP_KINDS = ("department", "project", "function", "custom")
MAX_DEPTH = 10


class Group(IdMixin, OrgScoped, Timestamps, Base):
    __tablename__ = "groups"

    parent_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("groups.id", ondelete="RESTRICT"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="custom")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    access_list_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("access_lists.id", ondelete="RESTRICT"), default=None
    )
    # Feature switches, e.g. {"streaming": false}; a missing feature is inherited (on by default).
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Requesty's budget fields, in nano-dollars; null = unlimited.
    monthly_budget: Mapped[int | None] = mapped_column(BigInteger, default=None)
    monthly_budget_per_user: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Who set each budget (null: the command line or no one known): see docs/design.md §2 and §4.
    budget_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    budget_per_user_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    expiry_set_by: Mapped[str | None] = mapped_column(String(36), default=None)
    # Rate limits of the whole subtree, and of each member's traffic through the group.
    rate_limits: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    rate_limits_per_member: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    # Guardrail modes for the subtree, e.g. {"pii": "mask"}; a child can only strengthen them.
    guardrails: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


# Sibling names are unique, case-insensitively; top-level groups are siblings of each other.
Index(
    "uq_groups_sibling_name",
    Group.org_id,
    func.coalesce(Group.parent_id, ""),
    func.lower(Group.name),
    unique=True,
)
