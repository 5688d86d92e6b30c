from __future__ import annotations

from sqlalchemy import JSON, BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base
from covey.models.base import IdMixin, OrgScoped, Timestamps

BUDGET_OWNERS = ("key", "user", "group", "member", "org")
BUDGET_PERIODS = ("month", "week", "day")
ENFORCEMENTS = ("hard", "soft")
DEFAULT_THRESHOLDS = (50, 80, 100)


class BudgetLine(IdMixin, OrgScoped, Timestamps, Base):
    """A budget line beyond Requesty's monthly columns (docs/design.md §4): soft lines, day and week periods,
    custom thresholds. `owner_type` `member` means each member's spend through the group `owner_id`;
    for `org` the owner is the org itself."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        UniqueConstraint(
            "org_id", "owner_type", "owner_id", "period", "enforcement", name="uq_budget_lines_owner_period"
        ),
    )

    owner_type: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    period: Mapped[str] = mapped_column(String(8), default="month")
    amount_nanos: Mapped[int] = mapped_column(BigInteger)
    enforcement: Mapped[str] = mapped_column(String(8), default="hard")
    # Percentages of the amount at which an alert fires, ascending.
    thresholds: Mapped[list[int]] = mapped_column(JSON, default=lambda: list(DEFAULT_THRESHOLDS))
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
