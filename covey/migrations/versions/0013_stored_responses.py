"""Responses kept for `previous_response_id` and GET/DELETE /v1/responses/{id}

Revision ID: responses1
Revises: 0001
Create Date: 2026-12-03 06:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from covey.kit.db import UTCDateTime

revision: str = "responses1"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_responses",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stored_responses_org_id", "stored_responses", ["org_id"])
    op.create_index("ix_stored_responses_created", "stored_responses", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_stored_responses_created", table_name="stored_responses")
    op.drop_index("ix_stored_responses_org_id", table_name="stored_responses")
    op.drop_table("stored_responses")
