"""OpenID Connect sign-in per organization; memberships the identity provider manages

Revision ID: sso1
Revises: identity1
Create Date: 2026-12-03 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from covey.kit.db import UTCDateTime

revision: str = "sso1"
down_revision: str | None = "identity1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_sso",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_env", sa.String(length=128), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("allowed_domains", sa.JSON(), nullable=False),
        sa.Column("groups_claim", sa.String(length=100), nullable=False),
        sa.Column("group_mapping", sa.JSON(), nullable=False),
        sa.Column("password_sign_in", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "sso_logins",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next", sa.String(length=500), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    op.create_index("ix_sso_logins_org_id", "sso_logins", ["org_id"])
    op.create_index("ix_sso_logins_expires_at", "sso_logins", ["expires_at"])
    # A plain ADD COLUMN (SQLite takes it with a constant default): no table copy.
    op.add_column("memberships", sa.Column("managed_by_idp", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("managed_by_idp")
    op.drop_index("ix_sso_logins_expires_at", table_name="sso_logins")
    op.drop_index("ix_sso_logins_org_id", table_name="sso_logins")
    op.drop_table("sso_logins")
    op.drop_table("org_sso")
