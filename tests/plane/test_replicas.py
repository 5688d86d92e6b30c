"""Other processes hear of a change through a bus, not their poll (a minute long here): Redis pub/sub
between two `covey serve` processes, PostgreSQL's LISTEN/NOTIFY without Redis, and a change made by
the command line. Each test prints how long the change took to be in force on the other process; the
generous timeout only stops a test that would otherwise hang."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from covey.app import create_app
from covey.kit.db import Database
from tests.budgets.conftest import GATEWAY_CONFIG
from tests.conftest import BACKEND, make_org
from tests.gateway.servers import covey_serve, serve
from tests.plane.conftest import SLOW_POLL, plane_settings

TIMEOUT = 10.0


def _env(database_url: str, config: Path, redis: tuple[str, str] | None) -> dict[str, str]:
    env = {
        "COVEY_DATABASE_URL": database_url,
        "COVEY_CONFIG": str(config),
        "COVEY_SNAPSHOT_POLL_SECONDS": str(SLOW_POLL),
        "COVEY_USAGE_FLUSH_SECONDS": "0.05",
    }
    if redis is not None:
        env["COVEY_REDIS_URL"], env["COVEY_REDIS_PREFIX"] = redis
    return env


@pytest.fixture
def buses(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """The Redis (url, prefix) the processes share, or None: PostgreSQL's LISTEN/NOTIFY alone."""
    if request.param == "redis":
        return (request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"))
    if BACKEND != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL: runs in the PostgreSQL pass")
    return None


@pytest.fixture
def first(database_url: str, tmp_path: Path, buses: tuple[str, str] | None) -> Iterator[str]:
    fields = {"redis_url": buses[0], "redis_prefix": buses[1]} if buses else {}
    with serve(create_app(plane_settings(database_url, tmp_path / "first.toml", **fields))) as url:
        yield url


def served(url: str, secret: str) -> int:
    return httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {secret}"}).status_code


def until(check: object, what: str) -> float:
    """Seconds until `check()` holds."""
    started = time.perf_counter()
    while not check():  # type: ignore[operator]
        assert time.perf_counter() - started < TIMEOUT, f"{what} did not reach the other process"
        time.sleep(0.002)
    return time.perf_counter() - started


@pytest.mark.parametrize("buses", ["redis", "postgresql"], indirect=True)
def test_a_change_on_one_process_is_in_force_on_the_other(
    first: str, database_url: str, db: Database, tmp_path: Path, buses: tuple[str, str] | None
) -> None:
    config = tmp_path / "second.toml"
    config.write_text(GATEWAY_CONFIG)
    with covey_serve(_env(database_url, config, buses), 1) as (second,), httpx.Client(base_url=first) as http:
        org = make_org(http, db)  # type: ignore[arg-type]
        made = org.admin.post("/v1/manage/apikey", json={"name": uuid.uuid4().hex[:8]})
        assert made.status_code == 200, made.text
        key_id, secret = made.json()["api_key_id"], made.json()["api_key"]
        assert served(first, secret) == 200  # in force where it was made, at once
        created = until(lambda: served(second, secret) == 200, "a new key")
        assert org.admin.delete(f"/v1/manage/apikey/{key_id}").status_code == 204
        revoked = until(lambda: served(second, secret) != 200, "a revocation")
    print(
        f"\nover {'redis' if buses else 'postgresql'}: new key {created * 1000:.1f} ms, revoke {revoked * 1000:.1f} ms"
    )


@pytest.mark.parametrize("buses", ["redis"], indirect=True)
def test_a_change_made_by_the_command_line_reaches_a_server(
    first: str, database_url: str, db: Database, tmp_path: Path, buses: tuple[str, str] | None
) -> None:
    with httpx.Client(base_url=first) as http:
        org = make_org(http, db)  # type: ignore[arg-type]
        made = org.admin.post("/v1/manage/apikey", json={"name": uuid.uuid4().hex[:8]})
    key_id, secret = made.json()["api_key_id"], made.json()["api_key"]
    assert served(first, secret) == 200
    config = tmp_path / "cli.toml"
    config.write_text(GATEWAY_CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "covey.cli", "keys", "revoke", key_id, "--org", org.id],
        env={**os.environ, **_env(database_url, config, buses)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    revoked = until(lambda: served(first, secret) != 200, "a revocation by the command line")
    print(f"\ncommand line over redis: revoke {revoked * 1000:.1f} ms after the command returned")
