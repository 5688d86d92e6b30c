from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import OrgScoped

GROUP_ROLES = ("admin", "member")


class Membership(OrgScoped, Base):
    __tablename__ = "memberships"

    group_id: Mapped[str] = mapped_column(String(36), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")
    # Requesty's member `rate_limit`: requests per minute for this member through this group.
    rate_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by: Mapped[str | None] = mapped_column(String(36), default=None)
    # Added by the identity provider (a SCIM group push or an OpenID Connect groups claim): the only
    # memberships a sign-in may take away (docs/design.md §2).
    managed_by_idp: Mapped[bool] = mapped_column(Boolean, default=False)
