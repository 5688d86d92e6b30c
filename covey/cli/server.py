"""`covey serve` and `covey db …`."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from covey.cli.context import database, fail, reported, settings
from covey.migrations import runner

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default COVEY_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default COVEY_PORT or 8080).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (more than one needs COVEY_REDIS_URL).")] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option("--access-log/--no-access-log", help="Log a line per request (default COVEY_ACCESS_LOG, off)."),
    ] = None,
) -> None:
    """Serve Covey over HTTP (migrating the database first)."""
    config = settings()
    if workers > 1 and not config.redis_url:
        # Without Redis each process keeps its own spend counters, and budgets would not hold.
        fail("several workers share budget counters through Redis: set COVEY_REDIS_URL, or serve one worker")
    if workers > 1 and not config.secret_key:
        # A secret made by each worker would sign sessions that only that worker accepts.
        fail("several workers must sign admin-panel sessions alike: set COVEY_SECRET_KEY, or serve one worker")
    with database(migrate=True):
        pass  # the app opens its own connections
    own_metrics_dir = None
    if config.prometheus_multiproc_dir is not None:
        _empty(config.prometheus_multiproc_dir)  # counters left by an earlier run would add up with these
    elif workers > 1:
        # The workers add their metrics up through files in one folder (prometheus_client's multiprocess
        # mode); every worker reads the folder from its environment.
        own_metrics_dir = Path(tempfile.mkdtemp(prefix="covey-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(own_metrics_dir)
    try:
        # By import string, so that only the server (not every `covey` command) loads the whole app, and
        # each worker builds its own; `create_app()` reads the same COVEY_* settings.
        uvicorn.run(
            "covey.app:create_app",
            factory=True,
            host=host or config.host,
            port=port or config.port,
            workers=workers,
            access_log=config.access_log if access_log is None else access_log,
        )
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


def _empty(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


@db_app.command("upgrade")
def upgrade() -> None:
    """Migrate the database to the newest schema."""
    with database(migrate=True) as db, reported():
        typer.echo(f"Database at revision {', '.join(_current(db.engine))} (head).")


@db_app.command("current")
def current() -> None:
    """Print the database's schema revision and whether it is the newest."""
    with database() as db, reported():
        revisions = _current(db.engine)
        heads = set(ScriptDirectory.from_config(runner.alembic_config(db.engine)).get_heads())
    if not revisions:
        typer.echo("Database not migrated yet: run `covey db upgrade`.")
    elif set(revisions) == heads:
        typer.echo(f"{', '.join(revisions)} (head)")
    else:
        typer.echo(f"{', '.join(revisions)} (head is {', '.join(sorted(heads))}: run `covey db upgrade`)")


def _current(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())
