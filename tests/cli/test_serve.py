from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.cli.conftest import ok_json, runner_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    for _ in range(600):
        assert process.poll() is None, f"covey serve exited early:\n{log.read_text()}"
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"covey serve never answered:\n{log.read_text()}")


def test_serve_migrates_a_new_database_and_serves(empty_database: str, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "COVEY_DATABASE_URL": empty_database}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "covey.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        health = _wait_until_up(f"{base}/healthz", process, log)
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        assert httpx.get(f"{base}/readyz").status_code == 200

        made = ok_json(runner_for(empty_database)("init", "--json"))
        org = httpx.get(f"{base}/v1/manage/org", headers={"Authorization": f"Bearer {made['admin_api_key']}"})
        assert org.status_code == 200
        assert org.json()["id"] == made["org_id"]
    finally:
        process.terminate()
        process.wait(timeout=30)
