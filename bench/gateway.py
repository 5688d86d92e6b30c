"""Covey's gateway in both of its modes against the bare mock upstream it fronts, side by side in one run.

Starts the mock upstream, then for each mode a fresh database seeded with one key under every check
Covey has (an access list on the key's group; hard monthly lines on the key, its owner, the owner as a
member of the group, the group, its parent and the org; a daily hard line on the group; requests and
tokens per minute on the key, requests per minute on its owner, concurrent requests on the group), and real
Covey servers (uvicorn, one worker each) with metering and usage writing on:

- `sqlite`: one process, a SQLite file, counters in process;
- `scaleout`: one process on PostgreSQL and Redis (the servers `.ci/run` starts, at
  `COVEY_BENCH_POSTGRES_URL` and `COVEY_BENCH_REDIS_URL`; a database and a key prefix of its own);
- `replicas`: two such processes behind the same PostgreSQL database and Redis, the load spread over both.

Each is driven by an async load generator at concurrency 1 and 64 (the mock too, in the same run), and
the table gives requests/s, the latency Covey adds at the median, p99/p50, and the CPU Covey's processes
spend per request. Afterwards every request must have its usage record, and the counters must equal
the recorded spend. On PostgreSQL the run also counts the database's transactions per request
(`pg_stat_database`): the hot path makes none, so the figure is the background's share.

    python bench/gateway.py [--requests 6000] [--modes sqlite scaleout replicas] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import redis
import sqlalchemy as sa
from sqlalchemy import func, select

from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.budgets import doctor
from covey.budgets.runtime import load_book, make_store
from covey.config import Settings
from covey.keys.secrets import issue
from covey.kit.clock import utcnow
from covey.kit.db import Database, make_engine
from covey.migrations import runner
from covey.models import AccessList, ApiKey, BudgetLine, Group, Membership, Organization, UsageRecord, User
from covey.orgs import repository as orgs
from covey.orgs.bootstrap import create_org

MODEL = "gpt-4o-mini"
BODY = b'{"model": "%s", "messages": [{"role": "user", "content": "Hello! How are you today?"}], "max_tokens": 64}'
ROOMY = 1_000_000 * 1_000_000_000  # $1,000,000 a line: every line is checked, none runs out
# Rate limits no run reaches: every window is counted, none refuses.
KEY_LIMITS = {"requests_per_minute": 100_000_000, "tokens_per_minute": 10**12}
OWNER_LIMITS = {"requests_per_minute": 100_000_000}
GROUP_LIMITS = {"concurrent": 100_000}
POSTGRES_URL = os.environ.get("COVEY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("COVEY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
MODES = {
    "sqlite": "SQLite, counters in process",
    "scaleout": "PostgreSQL + Redis",
    "replicas": "PostgreSQL + Redis, 2 replicas",
}


@dataclass(frozen=True)
class Run:
    """One load level against one set of servers."""

    concurrency: int
    rps: float
    p50: float  # ms
    p99: float  # ms
    cpu: float  # µs of the servers' CPU per request (their serving processes)
    writer_cpu: float = 0.0  # µs per request of their usage writer processes
    transactions: float | None = None  # PostgreSQL transactions per 1,000 requests (scale-out modes)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited with {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
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


def seed(db: Database, models: list[str] | None = None) -> str:
    """An org, its owner in "Backend" under "Engineering", an access list on Backend (`models`, else
    up/gpt-4o-mini), a hard line on everything a request is charged to, and the owner's key in Backend."""
    with db.transaction() as session:
        made = create_org(session, name="Bench", owner_email="owner@bench.example")
        org_id, owner = made.org.id, made.owner.id
        session.get_one(Organization, org_id).monthly_cap = ROOMY
        session.get_one(User, owner).monthly_limit = ROOMY
        session.get_one(User, owner).rate_limits = OWNER_LIMITS
        allowed = AccessList(org_id=org_id, name="bench", chat=models or [f"up/{MODEL}"])
        session.add(allowed)
        session.flush()
        eng = Group(org_id=org_id, name="Engineering", monthly_budget=ROOMY)
        session.add(eng)
        session.flush()
        backend = Group(
            org_id=org_id,
            name="Backend",
            parent_id=eng.id,
            access_list_id=allowed.id,
            monthly_budget=ROOMY,
            monthly_budget_per_user=ROOMY,
            rate_limits=GROUP_LIMITS,
        )
        session.add(backend)
        session.flush()
        session.add(Membership(org_id=org_id, group_id=backend.id, user_id=owner))
        daily = BudgetLine(org_id=org_id, owner_type="group", owner_id=backend.id, period="day", amount_nanos=ROOMY)
        session.add(daily)
        issued = issue()
        session.add(
            ApiKey(
                org_id=org_id,
                name="bench",
                key_hash=issued.key_hash,
                prefix=issued.prefix,
                owner_id=owner,
                group_id=backend.id,
                monthly_limit=ROOMY,
                rate_limits=KEY_LIMITS,
            )
        )
        audit.record(session, Caller.system(org_id, "bench"), "bench.seed", "org", org_id)
    return issued.secret


async def drive(
    urls: list[str], body: bytes, headers: dict[str, str], concurrency: int, total: int
) -> tuple[float, list[float]]:
    """`total` requests through `concurrency` connections, spread over `urls`; (elapsed seconds, latencies)."""
    latencies: list[float] = []
    remaining = total
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker(url: str) -> None:
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
        remaining = warmup(concurrency)
        await asyncio.gather(*(worker(urls[n % len(urls)]) for n in range(concurrency)))
        latencies.clear()
        remaining = total
        started = time.perf_counter()
        await asyncio.gather(*(worker(urls[n % len(urls)]) for n in range(concurrency)))
        return time.perf_counter() - started, latencies


def warmup(concurrency: int) -> int:
    return max(concurrency * 4, 50)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used: per-request CPU holds steady when other work shares the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The process's children (a Covey server's usage writer process, multiprocessing's tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def started(pids: list[int]) -> None:
    """Until the servers' usage writer processes, started with them, have finished starting up (their
    CPU holds still), so that no run counts their imports."""
    deadline = time.monotonic() + 20
    last = -1.0
    while time.monotonic() < deadline:
        used = writers_cpu(pids)
        if used == last and any(children(p) for p in pids):
            return
        last = used
        time.sleep(0.3)


def writers_cpu(pids: list[int]) -> float:
    total = 0.0
    for child in (c for p in pids for c in children(p)):
        with contextlib.suppress(OSError):
            total += cpu_seconds(child)
    return total


def transactions(db: Database | None) -> int:
    """Transactions the database has committed or rolled back (PostgreSQL's statistics, which its
    backends report within a second or so)."""
    if db is None:
        return 0
    query = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        return int(conn.execute(sa.text(query)).scalar_one())


def measure(
    pids: list[int],
    urls: list[str],
    body: bytes,
    headers: dict[str, str],
    concurrency: int,
    total: int,
    db: Database | None = None,
) -> Run:
    xacts = transactions(db)
    before, writers_before = sum(cpu_seconds(p) for p in pids), writers_cpu(pids)
    elapsed, latencies = asyncio.run(drive(urls, body, headers, concurrency, total))
    used = sum(cpu_seconds(p) for p in pids) - before
    time.sleep(1)  # the last batch reaches the writer process within a flush interval
    written = writers_cpu(pids) - writers_before
    if db is not None:
        time.sleep(1.5)  # the backends report their counts when idle, within a second
        xacts = transactions(db) - xacts  # with the two of these reads
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Run(
        concurrency=concurrency,
        rps=len(latencies) / elapsed,
        p50=statistics.median(ordered) * 1000,
        p99=p99 * 1000,
        cpu=used / (total + warmup(concurrency)) * 1e6,
        writer_cpu=written / (total + warmup(concurrency)) * 1e6,
        transactions=xacts / (total + warmup(concurrency)) * 1000 if db is not None else None,
    )


@contextmanager
def database(mode: str, work: Path) -> Iterator[str]:
    """A fresh, migrated database for one mode: a SQLite file, or a PostgreSQL database of its own."""
    if mode == "sqlite":
        url = f"sqlite:///{work / 'covey.db'}"
        runner.upgrade(make_engine(url))
        yield url
        return
    name = f"covey_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        runner.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def redis_prefix() -> Iterator[str]:
    prefix = f"covey-bench-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def covey_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m", "uvicorn", "covey.app:create_app", "--factory", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers", "--log-level", "warning",
    ]  # fmt: skip


def bench_mode(
    mode: str, args: argparse.Namespace, work: Path, mock_port: int
) -> tuple[list[Run], tuple[int, int, int]]:
    """The runs of one mode, and (requests sent, usage records written, counters that disagree with them)."""
    config = work / "covey.toml"
    config.write_text(
        f'[providers.up]\nkind = "openai"\nbase_url = "http://127.0.0.1:{mock_port}/v1"\nmodels = ["{MODEL}"]\n'
    )
    with ExitStack() as stack:
        url = stack.enter_context(database(mode, work))
        env = {**os.environ, "COVEY_DATABASE_URL": url, "COVEY_CONFIG": str(config)}
        if mode != "sqlite":
            env |= {"COVEY_REDIS_URL": REDIS_URL, "COVEY_REDIS_PREFIX": stack.enter_context(redis_prefix())}
        db = Database.connect(url)
        stack.callback(db.dispose)
        secret = seed(db)
        ports = [free_port() for _ in range(2 if mode == "replicas" else 1)]
        servers = [stack.enter_context(process(covey_command(p), env, p)) for p in ports]
        urls = [f"http://127.0.0.1:{p}/v1/chat/completions" for p in ports]
        pids = [s.pid for s in servers]
        started(pids)
        auth = {"Authorization": f"Bearer {secret}"}
        body = BODY % f"up/{MODEL}".encode()
        runs = []
        for concurrency in args.concurrency:
            total = args.requests
            last = concurrency == args.concurrency[-1]
            profile = args.profile.with_suffix(f".{mode}.txt") if args.profile and last else None
            with profiled(pids[0], profile):
                runs.append(measure(pids, urls, body, auth, concurrency, total, None if mode == "sqlite" else db))
        sent = sum(args.requests + warmup(c) for c in args.concurrency)
        time.sleep(2)  # the last usage batch lands within a flush interval
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        with db.sessions() as session:
            recorded = session.scalar(select(func.count()).select_from(UsageRecord)) or 0
        return runs, (sent, recorded, drifted(db, env))


def drifted(db: Database, env: dict[str, str]) -> int:
    """Counters that disagree with the usage records, as `covey doctor` finds them (scale-out modes: the
    in-process counters end with their process)."""
    if "COVEY_REDIS_URL" not in env:
        return 0
    settings = Settings(
        database_url=env["COVEY_DATABASE_URL"], redis_url=env["COVEY_REDIS_URL"], redis_prefix=env["COVEY_REDIS_PREFIX"]
    )

    async def examine() -> int:
        store = make_store(settings)
        try:
            with db.sessions() as session:
                org_ids = [o.id for o in orgs.all_orgs(session)]
            report = await doctor.examine(db, store, book=load_book(db), at=utcnow(), org_ids=org_ids)
            return len(report.drifts)
        finally:
            await store.close()

    return asyncio.run(examine())


def main() -> None:
    parser = argparse.ArgumentParser(description="Covey's gateway, in both modes, against the bare mock upstream")
    parser.add_argument("--requests", type=int, default=6000, help="per concurrency level, 1 included")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument(
        "--profile",
        type=Path,
        help="record each mode's first worker with py-spy at the last concurrency into FILE.<mode>.txt",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="covey-bench-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> None:
    mock_port = free_port()
    mock_cmd = [sys.executable, "-m", "covey.gateway.mock_upstream", "--port", str(mock_port)]
    mock_url = f"http://127.0.0.1:{mock_port}/v1/chat/completions"
    results: dict[str, tuple[list[Run], tuple[int, int, int]]] = {}
    with process(mock_cmd, dict(os.environ), mock_port) as mock:
        bare = {}
        for concurrency in args.concurrency:
            total = args.requests
            bare[concurrency] = measure([mock.pid], [mock_url], BODY % MODEL.encode(), {}, concurrency, total)
        for mode in args.modes:
            (work / mode).mkdir()
            results[mode] = bench_mode(mode, args, work / mode, mock_port)
    report(args, bare, results)


def report(
    args: argparse.Namespace, bare: dict[int, Run], results: dict[str, tuple[list[Run], tuple[int, int, int]]]
) -> None:
    levels = args.concurrency
    low, high = levels[0], levels[-1]
    print()
    head = [f"{'':<32}"]
    for c in levels:
        head.append(f"{f'req/s c{c}':>10} {f'p50 c{c}':>9} {'p99/p50':>7}")
    head.append(f"{f'added p50 c{low}':>14} {'cpu µs/req':>10} {'+ writer':>8}")
    print(" | ".join(head))
    cells = [f"{'bare mock upstream':<32}"]
    for c in levels:
        r = bare[c]
        cells.append(f"{r.rps:>10.0f} {r.p50:>8.2f}m {r.p99 / r.p50:>7.1f}")
    cells.append(f"{'':>14} {bare[high].cpu:>10.0f}")
    print(" | ".join(cells))
    for mode, (runs, _) in results.items():
        by = {r.concurrency: r for r in runs}
        cells = [f"{MODES[mode]:<32}"]
        for c in levels:
            r = by[c]
            cells.append(f"{r.rps:>10.0f} {r.p50:>8.2f}m {r.p99 / r.p50:>7.1f}")
        cells.append(f"{by[low].p50 - bare[low].p50:>+13.2f}m {by[high].cpu:>10.0f} {by[high].writer_cpu:>8.0f}")
        print(" | ".join(cells))
    print(
        f"p50 in ms; cpu µs/req: Covey's serving processes' CPU per request at c{high} (the mock's own for its row), "
        "+ writer: their usage writer processes'"
    )
    for mode, (runs, (sent, recorded, drifts)) in results.items():
        print(f"{MODES[mode]}: {recorded} usage records for {sent} requests; counters off the records: {drifts}")
        if runs[0].transactions is not None:
            per = ", ".join(f"c{r.concurrency} {r.transactions:.1f}" for r in runs)
            print(f"  PostgreSQL transactions per 1,000 requests (the background's, none on the hot path): {per}")
    if "scaleout" in results:
        one = {r.concurrency: r for r in results["scaleout"][0]}
        print(
            f"\nbar, one scale-out worker: >= 2000 req/s at c{high}: {one[high].rps:.0f}; "
            f"<= 1 ms added p50 at c{low}: {one[low].p50 - bare[low].p50:.2f}; p99 <= 3x p50: "
            + ", ".join(f"c{c} {one[c].p99 / one[c].p50:.1f}x" for c in levels)
        )
        if "replicas" in results:
            two = {r.concurrency: r for r in results["replicas"][0]}
            print(f"two replicas / one worker at c{high}: {two[high].rps / one[high].rps:.2f}x (bar 1.6x)")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the servers share them with the load)")


if __name__ == "__main__":
    main()
