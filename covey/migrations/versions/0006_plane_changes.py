"""control-plane change journal: what each revision touched

Revision ID: 0006_plane
Revises: 0001
Create Date: 2026-12-02 18:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import covey.kit.db

revision: str = "0006_plane"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("plane",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plane_changes",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("touched", sa.JSON(), nullable=False),
        sa.Column("created_at", covey.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )


def downgrade() -> None:
    op.drop_table("plane_changes")
