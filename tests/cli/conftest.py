"""The command line run for real, against an empty database of the suite's backend (a SQLite file, or a
database created for the test on the PostgreSQL server)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from covey.cli import app
from covey.kit.db import make_engine
from tests.conftest import BACKEND, POSTGRES_ADMIN_URL

Covey = Callable[..., Result]


def _empty_database(tmp_path: Path) -> Iterator[str]:
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'covey.db'}"
        return
    name = f"covey_cli_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even the schema."""
    yield from _empty_database(tmp_path)


@pytest.fixture(scope="module")
def module_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _empty_database(tmp_path_factory.mktemp("cli"))


def runner_for(database_url: str) -> Covey:
    """`covey …` in-process, with COVEY_DATABASE_URL pointing at `database_url`."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env={"COVEY_DATABASE_URL": database_url})

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def ok_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def refused(result: Result) -> str:
    """A user's mistake: status 1, one clear message on stderr, no traceback anywhere."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ")
    return result.stderr
