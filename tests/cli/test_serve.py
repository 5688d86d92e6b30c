from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from typer.testing import CliRunner

from covey.cli import app
from tests.cli.conftest import ok_json, refused, runner_for
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("COVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(database_url: str, workdir: Path, *args: str, **env: str) -> Iterator[str]:
    """`covey serve` as a real process on a free port, until /healthz answers; stopped afterwards."""
    port = _free_port()
    log = workdir / "serve.log"
    command = [sys.executable, "-m", "covey.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, "COVEY_DATABASE_URL": database_url, **env},
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            assert process.poll() is None, f"covey serve exited early:\n{log.read_text()}"
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError(f"covey serve never answered:\n{log.read_text()}")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_serve_migrates_a_new_database_and_serves(empty_database: str, tmp_path: Path) -> None:
    with _serving(empty_database, tmp_path) as base:
        assert httpx.get(f"{base}/readyz").status_code == 200
        made = ok_json(runner_for(empty_database)("init", "--json"))
        org = httpx.get(f"{base}/v1/manage/org", headers={"Authorization": f"Bearer {made['admin_api_key']}"})
        assert org.status_code == 200
        assert org.json()["id"] == made["org_id"]


@pytest.mark.parametrize(
    ("args", "env", "logged"),
    [((), {}, False), (("--access-log",), {}, True), ((), {"COVEY_ACCESS_LOG": "true"}, True)],
)
def test_the_access_log_is_off_unless_asked_for(
    empty_database: str, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], logged: bool
) -> None:
    with _serving(empty_database, tmp_path, *args, **env) as base:
        assert httpx.get(f"{base}/v1/nothing-here").status_code == 404
    assert ("/v1/nothing-here" in (tmp_path / "serve.log").read_text()) is logged


def test_several_workers_need_redis(empty_database: str) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--workers", "2"], env={"COVEY_DATABASE_URL": empty_database, "COVEY_REDIS_URL": ""}
    )
    assert "COVEY_REDIS_URL" in refused(result)


def test_several_workers_need_one_session_secret(empty_database: str) -> None:
    """Each worker would otherwise sign panel sessions with a secret of its own: a sign-in would hold
    on one worker in N."""
    env = {"COVEY_DATABASE_URL": empty_database, "COVEY_REDIS_URL": REDIS_URL, "COVEY_SECRET_KEY": ""}
    result = CliRunner().invoke(app, ["serve", "--workers", "2"], env=env)
    assert "COVEY_SECRET_KEY" in refused(result)


def test_several_workers_with_redis_serve(empty_database: str, tmp_path: Path) -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    made = ok_json(runner_for(empty_database)("init", "--json"))
    headers = {"Authorization": f"Bearer {made['admin_api_key']}"}
    prefix = f"covey-cli-test-{uuid.uuid4().hex[:8]}"
    with _serving(
        empty_database,
        tmp_path,
        "--workers",
        "2",
        COVEY_REDIS_URL=REDIS_URL,
        COVEY_REDIS_PREFIX=prefix,
        COVEY_SECRET_KEY=uuid.uuid4().hex,
    ) as base:
        for _ in range(10):
            assert httpx.get(f"{base}/v1/manage/org", headers=headers).json()["id"] == made["org_id"]
        # A panel sign-in holds whichever worker answers: every load on a fresh connection.
        with httpx.Client(base_url=base, headers={"Connection": "close"}) as browser:
            form = browser.get("/admin/sign-in")
            csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
            assert csrf is not None
            signed_in = browser.post(
                "/admin/sign-in",
                data={"email": made["admin_email"], "password": made["admin_password"], "csrf_token": csrf.group(1)},
            )
            assert signed_in.status_code == 303, signed_in.text
            for _ in range(20):
                page = browser.get("/admin/keys")
                assert page.status_code == 200 and 'action="/admin/sign-out"' in page.text, page.status_code
