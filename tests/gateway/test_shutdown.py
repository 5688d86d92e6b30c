"""A graceful stop under load: every request that got an answer has its usage record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.gateway.conftest import World, eventually
from tests.gateway.servers import free_port

CONFIG = """
[providers.slow]
kind = "mock"
latency_ms = 20
models = ["gpt-4o-mini"]

[prices."slow/gpt-4o-mini"]
input = 1
output = 1
"""


def test_sigterm_under_load_loses_no_record(database_url: str, world: World, tmp_path: Path) -> None:
    key_id, secret = world.key()
    config = tmp_path / "covey.toml"
    config.write_text(CONFIG)
    port = free_port()
    env = {
        **os.environ,
        "COVEY_DATABASE_URL": database_url,
        "COVEY_CONFIG": str(config),
        # Longer than the test: only the flush at shutdown can write these records.
        "COVEY_USAGE_FLUSH_SECONDS": "60",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "covey.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        eventually(up, tries=300, pause=0.05)
        answered: list[int] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=10) as client:
                while not stop.is_set():
                    try:
                        response = client.post(
                            "/v1/chat/completions",
                            json={"model": "slow/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                        )
                    except httpx.TransportError:
                        return  # the server stopped taking requests
                    if response.status_code == 200:
                        answered.append(1)

        workers = [threading.Thread(target=load) for _ in range(8)]
        for w in workers:
            w.start()
        eventually(lambda: len(answered) >= 50, tries=500, pause=0.01)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
        stop.set()
        for w in workers:
            w.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    records = world.records(key_id)
    assert len(answered) >= 50
    assert len(records) == len(answered)
    assert all(r.status == 200 for r in records)
