from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime


class PlaneChange(Base):
    """What one control-plane transaction touched (keys, users, groups, …), written with its revision
    bump: a gateway recompiles only those, and one whose revision is older than the oldest row kept
    rebuilds in full."""

    __tablename__ = "plane_changes"

    revision: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    touched: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
