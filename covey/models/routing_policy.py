from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base
from covey.models.base import IdMixin, OrgScoped, Timestamps

POLICY_TYPES = ("fallback", "load_balancing")


class RoutingPolicy(IdMixin, OrgScoped, Timestamps, Base):
    """`policy/<name>`: a fallback chain or a weighted split over models (Requesty §3.5)."""

    __tablename__ = "routing_policies"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_routing_policies_org_name"),)

    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"model": "provider/model" or "policy/<name>", "retries": 0..10, "weight": number}]
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
