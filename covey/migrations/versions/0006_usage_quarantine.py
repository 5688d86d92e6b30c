"""usage records the database refused, with the reason

Revision ID: 0006_quarantine
Revises: 0002
Create Date: 2026-12-02 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import covey.kit.db

revision: str = "0006_quarantine"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("quarantine",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_quarantine",
        sa.Column("quarantined_at", covey.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_usage_quarantine_org_id"), "usage_quarantine", ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_usage_quarantine_org_id"), table_name="usage_quarantine")
    op.drop_table("usage_quarantine")
