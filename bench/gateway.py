"""Covey's gateway against the bare mock upstream it fronts, side by side in one run.

Starts the mock upstream and a real Covey server (one uvicorn worker, SQLite in a temp dir, a real key
in a group with an access list, metering and usage writing on), drives each with an async load
generator at concurrency 1, 16 and 64, and prints requests/s and p50/p99 latency for both, with
Covey's share of the mock's throughput and the latency it adds.

    python bench/gateway.py [--requests 4000] [--concurrency 1 16 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from covey.audit import service as audit
from covey.audit.actor import Actor
from covey.keys.secrets import issue
from covey.kit.db import Database, make_engine
from covey.migrations import runner
from covey.models import AccessList, ApiKey, Group, Membership, UsageRecord
from covey.orgs.bootstrap import create_org

MODEL = "gpt-4o-mini"
BODY = b'{"model": "%s", "messages": [{"role": "user", "content": "Hello! How are you today?"}], "max_tokens": 64}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str], health_url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited with {proc.returncode}")
            try:
                with socket.create_connection(health_url.split("//")[1].split("/")[0].split(":"), timeout=0.2):  # type: ignore[arg-type]
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{args} did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def profiled(pid: int, output: Path | None) -> Iterator[None]:
    """Samples the process with py-spy (folded stacks in `output`) while the block runs."""
    if output is None:
        yield
        return
    spy = str(Path(sys.executable).with_name("py-spy"))
    recorder = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--output", str(output)],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)  # let it attach
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def seed(db: Database) -> str:
    """An org, a user in "Backend" under "Engineering", an access list on the group, and the user's key."""
    with db.transaction() as session:
        made = create_org(session, name="Bench", owner_email="owner@bench.example")
        org_id, owner = made.org.id, made.owner.id
        actor = Actor.system("bench")
        allowed = AccessList(org_id=org_id, name="bench", chat=[f"up/{MODEL}"])
        session.add(allowed)
        session.flush()
        eng = Group(org_id=org_id, name="Engineering")
        session.add(eng)
        session.flush()
        backend = Group(org_id=org_id, name="Backend", parent_id=eng.id, access_list_id=allowed.id)
        session.add(backend)
        session.flush()
        session.add(Membership(org_id=org_id, group_id=backend.id, user_id=owner))
        issued = issue()
        session.add(
            ApiKey(
                org_id=org_id,
                name="bench",
                key_hash=issued.key_hash,
                prefix=issued.prefix,
                owner_id=owner,
                group_id=backend.id,
            )
        )
        audit.record(session, org_id=org_id, actor=actor, action="bench.seed", target_type="org", target_id=org_id)
    return issued.secret


async def drive(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, total: int
) -> tuple[float, list[float]]:
    """`total` requests through `concurrency` connections; returns (elapsed seconds, latencies)."""
    latencies: list[float] = []
    remaining = total
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with session.post(url, data=body) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{url} answered {resp.status}: {await resp.text()}")
                latencies.append(time.perf_counter() - start)

        # Warm both sides up (connections, caches) before measuring.
        remaining = max(concurrency * 4, 50)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        latencies.clear()
        remaining = total
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used: per-request CPU holds steady when other work shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    pid: int, url: str, body: bytes, headers: dict[str, str], concurrency: int, total: int
) -> tuple[float, float, float, float]:
    """(req/s, p50 ms, p99 ms, server CPU µs per request)."""
    before = cpu_seconds(pid)
    elapsed, latencies = asyncio.run(drive(url, body, headers, concurrency, total))
    used = cpu_seconds(pid) - before
    warmup = max(concurrency * 4, 50)
    return (*summary(elapsed, latencies), used / (total + warmup) * 1e6)


def summary(elapsed: float, latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description="Covey gateway vs the bare mock upstream")
    parser.add_argument("--requests", type=int, default=4000, help="per concurrency level (a quarter at 1)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--profile", type=Path, help="record Covey with py-spy into this folded-stacks file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="covey-bench-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> None:
    database_url = f"sqlite:///{work / 'covey.db'}"
    runner.upgrade(make_engine(database_url))
    db = Database.connect(database_url)
    secret = seed(db)
    mock_port, covey_port = free_port(), free_port()
    config = work / "covey.toml"
    config.write_text(
        f'[providers.up]\nkind = "openai"\nbase_url = "http://127.0.0.1:{mock_port}/v1"\nmodels = ["{MODEL}"]\n'
    )
    env = {**os.environ, "COVEY_DATABASE_URL": database_url, "COVEY_CONFIG": str(config)}
    mock_cmd = [sys.executable, "-m", "covey.gateway.mock_upstream", "--port", str(mock_port)]
    covey_cmd = [
        sys.executable,
        "-m", "uvicorn", "covey.app:create_app", "--factory", "--port", str(covey_port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers", "--log-level", "warning",
    ]  # fmt: skip
    mock_url = f"http://127.0.0.1:{mock_port}/v1/chat/completions"
    covey_url = f"http://127.0.0.1:{covey_port}/v1/chat/completions"

    rows = []
    auth = {"Authorization": f"Bearer {secret}"}
    with process(mock_cmd, env, mock_url) as mock, process(covey_cmd, env, covey_url) as covey:
        for concurrency in args.concurrency:
            total = args.requests // 4 if concurrency == 1 else args.requests
            bare = measure(mock.pid, mock_url, BODY % MODEL.encode(), {}, concurrency, total)
            with profiled(covey.pid, args.profile if concurrency == args.concurrency[-1] else None):
                ours = measure(covey.pid, covey_url, BODY % f"up/{MODEL}".encode(), auth, concurrency, total)
            rows.append((concurrency, total, bare, ours))
    with db.sessions() as session:
        recorded = session.scalar(select(func.count()).select_from(UsageRecord)) or 0
        charged = session.scalar(select(func.sum(UsageRecord.cost_nanos))) or 0
    db.dispose()

    print()
    mock_head = f"{'mock req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'cpu µs':>7}"
    covey_head = f"{'covey req/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'cpu µs':>7}"
    print(f"{'conc':>4} {'reqs':>6} | {mock_head} | {covey_head} | {'ratio':>6} {'added p50 ms':>12}")
    for concurrency, total, (m_rps, m_p50, m_p99, m_cpu), (c_rps, c_p50, c_p99, c_cpu) in rows:
        print(
            f"{concurrency:>4} {total:>6} | {m_rps:>10.0f} {m_p50:>7.2f} {m_p99:>7.2f} {m_cpu:>7.0f} | "
            f"{c_rps:>11.0f} {c_p50:>7.2f} {c_p99:>7.2f} {c_cpu:>7.0f} | {c_rps / m_rps:>6.2f} {c_p50 - m_p50:>12.2f}"
        )
    print("cpu µs: the server process's CPU time per request (1e6 / cpu µs = req/s one core could serve)")
    warmups = sum(max(c * 4, 50) for c, *_ in rows)
    print(f"usage records written: {recorded} (requests sent to Covey incl. warm-up: "
          f"{sum(t for _, t, *_ in rows) + warmups}); metered spend ${charged / 1e9:.6f}")  # fmt: skip
    load = os.getloadavg()[0]
    print(f"bar: >= 3000 req/s at concurrency 64, <= 1 ms added p50 at concurrency 1 (load average now {load:.1f})")


if __name__ == "__main__":
    main()
