"""admin panel sessions and sign-in failures

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-27 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import covey.kit.db

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("admin",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", covey.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", covey.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_admin_sessions_org_id", "admin_sessions", ["org_id"])
    op.create_index("ix_admin_sessions_user_id", "admin_sessions", ["user_id"])
    op.create_table(
        "admin_sign_in_failures",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("occurred_at", covey.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_admin_sign_in_failures_email_time", "admin_sign_in_failures", ["email", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_sign_in_failures_email_time", table_name="admin_sign_in_failures")
    op.drop_table("admin_sign_in_failures")
    op.drop_index("ix_admin_sessions_user_id", table_name="admin_sessions")
    op.drop_index("ix_admin_sessions_org_id", table_name="admin_sessions")
    op.drop_table("admin_sessions")
