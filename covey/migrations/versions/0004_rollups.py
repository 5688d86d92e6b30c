"""usage rollups (per day: fine grain and per charged group; per month: per charged group and per user)

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-27 02:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("reports",)
depends_on: str | Sequence[str] | None = None

_MODEL_DIMENSIONS = ("endpoint", "model_requested", "model_used", "provider_used")


def _model_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("model_requested", sa.String(length=200), nullable=False),
        sa.Column("model_used", sa.String(length=200), nullable=False),
        sa.Column("provider_used", sa.String(length=100), nullable=False),
    ]


def _counter_columns() -> list[sa.Column[int]]:
    big = ("requests", "failures", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens")
    money = ("cost_nanos", "cache_savings_nanos")
    features = ("streaming", "tools", "structured_outputs", "reasoning")
    return [
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in (*big, *money)),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in features),
    ]


def upgrade() -> None:
    op.create_table(
        "usage_rollups",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        *_model_columns(),
        *_counter_columns(),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(
            "org_id", "day", "key_id", "user_id", "group_id", *_MODEL_DIMENSIONS, name="pk_usage_rollups"
        ),
    )
    op.create_index("ix_usage_rollups_org_id", "usage_rollups", ["org_id"])
    op.create_index("ix_usage_rollups_key_day", "usage_rollups", ["org_id", "key_id", "day"])
    op.create_index("ix_usage_rollups_user_day", "usage_rollups", ["org_id", "user_id", "day"])

    op.create_table(
        "usage_group_rollups",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        *_model_columns(),
        *_counter_columns(),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "day", "group_id", "own", *_MODEL_DIMENSIONS, name="pk_usage_group_rollups"),
    )
    op.create_index("ix_usage_group_rollups_org_id", "usage_group_rollups", ["org_id"])
    op.create_index("ix_usage_group_rollups_group_day", "usage_group_rollups", ["org_id", "group_id", "day"])

    op.create_table(
        "usage_group_months",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        *_model_columns(),
        *_counter_columns(),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id", "month", "group_id", "own", *_MODEL_DIMENSIONS, name="pk_usage_group_months"),
    )
    op.create_index("ix_usage_group_months_org_id", "usage_group_months", ["org_id"])
    op.create_index("ix_usage_group_months_group_month", "usage_group_months", ["org_id", "group_id", "month"])

    op.create_table(
        "usage_user_months",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        *_model_columns(),
        *_counter_columns(),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(
            "org_id", "month", "user_id", "group_id", *_MODEL_DIMENSIONS, name="pk_usage_user_months"
        ),
    )
    op.create_index("ix_usage_user_months_org_id", "usage_user_months", ["org_id"])
    op.create_index("ix_usage_user_months_user_month", "usage_user_months", ["org_id", "user_id", "month"])


def downgrade() -> None:
    op.drop_table("usage_user_months")
    op.drop_table("usage_group_months")
    op.drop_table("usage_group_rollups")
    op.drop_table("usage_rollups")
