from __future__ import annotations

from alembic import context

import covey.reports.tables  # noqa: F401  (the rollup tables, so autogenerate sees them)
from covey.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("covey.migrations.runner passes the connection; run `covey db upgrade`")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
