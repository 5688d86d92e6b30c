"""rate limits on keys, users, groups, members and the org; guardrails on groups and keys; guardrail
hits on usage records

Revision ID: 0006_policies
Revises: 0002
Create Date: 2026-12-02 18:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_policies"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("policies",)
depends_on: str | Sequence[str] | None = None

_RATE_LIMITED = ("organizations", "users", "groups", "api_keys")


def upgrade() -> None:
    for table in _RATE_LIMITED:
        op.add_column(table, sa.Column("rate_limits", sa.JSON(), nullable=True))
    op.add_column("groups", sa.Column("rate_limits_per_member", sa.JSON(), nullable=True))
    op.add_column("memberships", sa.Column("rate_limit", sa.Integer(), nullable=True))
    op.add_column("groups", sa.Column("guardrails", sa.JSON(), nullable=True))
    op.add_column("api_keys", sa.Column("guardrails", sa.JSON(), nullable=True))
    op.add_column("usage_records", sa.Column("guardrails", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("usage_records", "guardrails")
    op.drop_column("api_keys", "guardrails")
    op.drop_column("groups", "guardrails")
    op.drop_column("memberships", "rate_limit")
    op.drop_column("groups", "rate_limits_per_member")
    for table in _RATE_LIMITED:
        op.drop_column(table, "rate_limits")
