"""users: a SCIM userName of their own, an optional email, the OpenID Connect subject

Revision ID: identity1
Revises: 0002
Create Date: 2026-12-02 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "identity1"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=True)
        batch.add_column(sa.Column("user_name", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch.create_unique_constraint("uq_users_org_user_name", ["org_id", "user_name"])
        batch.create_unique_constraint("uq_users_org_oidc_subject", ["org_id", "oidc_subject"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_org_oidc_subject", type_="unique")
        batch.drop_constraint("uq_users_org_user_name", type_="unique")
        batch.drop_column("oidc_subject")
        batch.drop_column("user_name")
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
