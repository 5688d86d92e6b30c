"""Real servers for gateway tests: the mock upstream and Covey itself, each uvicorn in a thread on a
free port, and Covey as real `covey serve` processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any, *, lifespan: Literal["auto", "on", "off"] = "on") -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, loop="asyncio", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError("server failed to start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def covey_serve(env: dict[str, str], count: int, *, logs: Path | None = None) -> Iterator[list[str]]:
    """`count` real `covey serve` processes, started together, each on a free port, until each is
    ready; stopped afterwards. With `logs`, each writes its output there (`serve-<n>.log`), quoted
    when it fails to start."""
    ports = [free_port() for _ in range(count)]
    outputs = [logs / f"serve-{n}.log" if logs is not None else None for n in range(count)]
    processes = []
    for port, output in zip(ports, outputs, strict=True):
        with output.open("wb") if output is not None else open(os.devnull, "wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "covey.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env={**os.environ, **env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    urls = [f"http://127.0.0.1:{port}" for port in ports]

    def said(n: int) -> str:
        output = outputs[n]
        return output.read_text(errors="replace") if output is not None else ""

    try:
        for n, (url, process) in enumerate(zip(urls, processes, strict=True)):
            for _ in range(1200):
                assert process.poll() is None, f"covey serve exited with {process.returncode}\n{said(n)}"
                try:
                    if httpx.get(f"{url}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            else:
                raise AssertionError(f"covey serve did not become ready\n{said(n)}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
