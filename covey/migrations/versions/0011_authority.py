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


_SETTERS = {
    "api_keys": ("limit_set_by", "expiry_set_by"),
    "users": ("limit_set_by",),
    "groups": ("budget_set_by", "budget_per_user_set_by", "expiry_set_by"),
}


def upgrade() -> None:
    for table, columns in _SETTERS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, sa.String(length=36), nullable=True))
    # A key's limit and expiry were set by whoever made it, as far as anyone knows.
    op.execute("UPDATE api_keys SET limit_set_by = created_by WHERE monthly_limit IS NOT NULL")
    op.execute("UPDATE api_keys SET expiry_set_by = created_by WHERE expires_at IS NOT NULL")
    with op.batch_alter_table("admin_sign_in_failures") as batch:
        batch.add_column(sa.Column("client", sa.String(length=64), nullable=False, server_default=""))
    op.create_index("ix_admin_sign_in_failures_client_time", "admin_sign_in_failures", ["client", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_admin_sign_in_failures_client_time", table_name="admin_sign_in_failures")
    with op.batch_alter_table("admin_sign_in_failures") as batch:
        batch.drop_column("client")
    for table, columns in _SETTERS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
