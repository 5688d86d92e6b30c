"""who set each limit and expiry; sign-in failures by client address

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = ("authority",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admin_sign_in_failures") as batch:
        batch.add_column(sa.Column("client", sa.String(length=64), nullable=False, server_default=""))
    op.create_index("ix_admin_sign_in_failures_client_time", "admin_sign_in_failures", ["client", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_sign_in_failures_client_time", table_name="admin_sign_in_failures")
    with op.batch_alter_table("admin_sign_in_failures") as batch:
        batch.drop_column("client")
