"""The control plane at 1k, 10k and 100k people, side by side in one run.

For each size: an organization of N people (2 keys each, one in a group and one personal; every
person in a leaf group of a 1,000-group tree, 5 % in a second group), served by two `covey serve`
processes (A and B) sharing one database and Redis, with the bare mock upstream behind them. Prints:

- start-up: seconds from spawn until A answers, and A's resident memory then;
- one change (a key made, then revoked, through A's management API): the API call's time, whether
  the very next request on A already saw it, and how long until B saw it (pushed over Redis);
- the gateway on A at concurrency 16, p50/p99, with no changes and with 10 changes a second made
  through B (keys made and revoked, people moved between groups, limits set), and their ratio.

    python bench/plane.py [--people 1000 10000 100000] [--requests 3000] [--changes 40]
    python bench/plane.py --database postgresql://postgres@127.0.0.1:5432/postgres  # on PostgreSQL
    python bench/plane.py --people 100000 --profile plane.folded  # py-spy on A while changes arrive

Bars: at 100k people a change is in force on A before its API call answers, and on B within 100 ms
p99; p99 under churn <= 1.5 x p99 without.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import redis
import sqlalchemy as sa
from sqlalchemy import insert

from covey.kit.clock import utcnow
from covey.kit.crypto import hash_secret
from covey.kit.db import Database, make_engine
from covey.migrations import runner
from covey.models import ApiKey, Group, Membership, User
from covey.orgs.bootstrap import create_org

MODEL = "gpt-4o-mini"
BODY = b'{"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 16}'
TOPS, MIDS, LEAVES = 10, 10, 8  # 10 + 100 + 800 groups, and 90 more spread as a fourth level: 1,000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---- the organization ------------------------------------------------------------------------------


@dataclass
class World:
    org_id: str
    admin: str  # the owner's admin key
    users: list[str]
    leaves: list[str]
    leaf_of: dict[str, str]  # user → their leaf group
    secrets: list[str]  # one working key secret per sampled user


def _id() -> str:
    return str(uuid.uuid4())


def seed(db: Database, people: int) -> World:
    """Bulk inserts (the journal sees none of them: the servers start after, from a full compile)."""
    with db.transaction() as session:
        made = create_org(session, name="Plane bench", owner_email="owner@bench.example")
    org_id = made.org.id
    now = utcnow()
    groups: list[dict[str, object]] = []

    def group(name: str, parent: str | None) -> str:
        gid = _id()
        groups.append({"id": gid, "org_id": org_id, "name": name, "parent_id": parent, "created_at": now,
                       "updated_at": now, "kind": "custom", "description": "", "is_default": False,
                       "features": {}})  # fmt: skip
        return gid

    leaves: list[str] = []
    for t in range(TOPS):
        top = group(f"Top {t}", None)
        for m in range(MIDS):
            mid = group(f"Mid {t}.{m}", top)
            leaves += [group(f"Leaf {t}.{m}.{n}", mid) for n in range(LEAVES)]
    leaves += [group(f"Deep {i}", leaves[i * 7]) for i in range(1000 - len(groups))]
    users, memberships, keys = [], [], []
    leaf_of: dict[str, str] = {}
    secrets: list[str] = []
    for i in range(people):
        uid = _id()
        users.append({"id": uid, "org_id": org_id, "email": f"p{i}@bench.example", "name": f"Person {i}",
                      "role": "member", "status": "active", "created_at": now, "updated_at": now})  # fmt: skip
        leaf = leaves[i % len(leaves)]
        leaf_of[uid] = leaf
        memberships.append({"org_id": org_id, "group_id": leaf, "user_id": uid, "role": "member", "added_at": now})
        if i % 20 == 0:  # 5 % in a second group
            other = leaves[(i * 7 + 3) % len(leaves)]
            if other != leaf:
                memberships.append(
                    {"org_id": org_id, "group_id": other, "user_id": uid, "role": "member", "added_at": now}
                )
        for n, group_id in enumerate((leaf, None)):
            secret = f"cvy_bench_{i}_{n}_{uuid.uuid4().hex[:8]}"
            keys.append({"id": _id(), "org_id": org_id, "name": f"k{i}.{n}", "key_hash": hash_secret(secret),
                         "prefix": secret[:12], "owner_id": uid, "group_id": group_id, "manage": "none",
                         "completions": "write", "labels": {}, "features": {}, "logging": False,
                         "created_at": now, "updated_at": now})  # fmt: skip
            if n == 0 and i % max(1, people // 64) == 0:
                secrets.append(secret)
    with db.transaction() as session:
        for model, rows in ((Group, groups), (User, users), (Membership, memberships), (ApiKey, keys)):
            table = model.__table__  # type: ignore[attr-defined]
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start : start + 5000])
    return World(
        org_id=org_id,
        admin=made.api_key,
        users=[str(u["id"]) for u in users],
        leaves=leaves,
        leaf_of=leaf_of,
        secrets=secrets,
    )


# ---- processes -------------------------------------------------------------------------------------


@contextmanager
def process(
    args: list[str], env: dict[str, str], ready: str | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited with {proc.returncode}")
            try:
                if ready is None:
                    break
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start")
            time.sleep(0.05)
        yield proc, time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@contextmanager
def profiled(pid: int, output: Path | None) -> Iterator[None]:
    """py-spy samples the process (folded stacks in `output`, idle frames left out) while the block runs."""
    if output is None:
        yield
        return
    spy = str(Path(sys.executable).with_name("py-spy"))
    args = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--output", str(output)]
    recorder = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # let it attach
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def covey(port: int, env: dict[str, str]) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "covey.app:create_app", "--factory", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


# ---- measurements ----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


@dataclass
class OneChange:
    api_ms: list[float]  # the management call, commit and local apply included
    local_ok: int  # next request on A already saw the change
    trials: int
    remote_ms: list[float]  # from A's answer until B served it


def one_change(a: str, b: str, world: World, trials: int) -> OneChange:
    admin = {"Authorization": f"Bearer {world.admin}"}
    api_ms: list[float] = []
    remote_ms: list[float] = []
    local_ok = 0
    with httpx.Client(base_url=a, headers=admin, timeout=60) as on_a, httpx.Client(base_url=b, timeout=60) as on_b:
        for n in range(trials):
            user = random.choice(world.users)
            if n % 2 == 0:
                started = time.perf_counter()
                made = on_a.post(
                    "/v1/manage/apikey", json={"name": "bench", "owner_id": user, "group_id": world.leaf_of[user]}
                )
                api_ms.append((time.perf_counter() - started) * 1000)
                made.raise_for_status()
                secret, key_id = made.json()["api_key"], made.json()["api_key_id"]
                wanted = 200
            else:
                started = time.perf_counter()
                on_a.delete(f"/v1/manage/apikey/{key_id}").raise_for_status()
                api_ms.append((time.perf_counter() - started) * 1000)
                wanted = 401
            answered = time.perf_counter()
            headers = {"Authorization": f"Bearer {secret}"}
            local_ok += (on_a.get("/v1/models", headers=headers).status_code == 200) == (wanted == 200)
            while (on_b.get("/v1/models", headers=headers).status_code == 200) != (wanted == 200):
                if time.perf_counter() - answered > 10:
                    raise RuntimeError("a change never reached the second process")
            remote_ms.append((time.perf_counter() - answered) * 1000)
    return OneChange(api_ms=api_ms, local_ok=local_ok, trials=trials, remote_ms=remote_ms)


async def load(url: str, secrets: list[str], concurrency: int, total: int) -> list[float]:
    latencies: list[float] = []
    remaining = total
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(n: int) -> None:
            nonlocal remaining
            headers = {"Authorization": f"Bearer {secrets[n % len(secrets)]}", "Content-Type": "application/json"}
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.post(url, data=BODY, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"{url} answered {resp.status}: {await resp.text()}")
                latencies.append(time.perf_counter() - started)

        remaining = concurrency * 20  # warm up
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        latencies.clear()
        remaining = total
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return latencies


def churn(b: str, world: World, per_second: float, stop: asyncio.Event) -> int:
    """Changes through B at `per_second`, until `stop`: keys made and revoked, people moved, limits set."""
    made: list[str] = []
    count = 0
    admin = {"Authorization": f"Bearer {world.admin}"}
    with httpx.Client(base_url=b, headers=admin, timeout=60) as on_b:
        next_at = time.perf_counter()
        while not stop.is_set():
            user = random.choice(world.users)
            kind = count % 4
            if kind == 0:
                body = {"name": "churn", "owner_id": user, "group_id": world.leaf_of[user]}
                made.append(on_b.post("/v1/manage/apikey", json=body).json()["api_key_id"])
            elif kind == 1 and made:
                on_b.delete(f"/v1/manage/apikey/{made.pop()}")
            elif kind == 2:
                on_b.patch(f"/v1/manage/user/{user}", json={"monthly_limit": random.randint(5, 500)})
            else:
                group = random.choice(world.leaves)
                if on_b.post(f"/v1/manage/group/{group}/member", json={"user_id": user}).status_code < 300:
                    on_b.delete(f"/v1/manage/group/{group}/member/{user}")
            count += 1
            next_at += 1 / per_second
            time.sleep(max(0.0, next_at - time.perf_counter()))
    return count


async def gateway_under(a: str, b: str, world: World, total: int, per_second: float) -> tuple[list[float], int]:
    stop = asyncio.Event()
    changes = asyncio.create_task(asyncio.to_thread(churn, b, world, per_second, stop)) if per_second else None
    try:
        latencies = await load(f"{a}/v1/chat/completions", world.secrets, 16, total)
    finally:
        stop.set()
    return latencies, (await changes) if changes is not None else 0


# ---- the run ---------------------------------------------------------------------------------------


@dataclass
class Row:
    people: int
    startup_s: float
    rss_mb: float
    change: OneChange
    quiet: list[float]
    busy: list[float]
    changes: int
    busy_seconds: float


def run_size(people: int, args: argparse.Namespace, work: Path) -> Row:
    if args.database.startswith("postgresql"):
        name = f"covey_bench_plane_{uuid.uuid4().hex[:8]}"
        admin_engine = make_engine(args.database).execution_options(isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        database_url = args.database.rsplit("/", 1)[0] + f"/{name}"
    else:
        database_url = f"sqlite:///{work / f'plane-{people}.db'}"
    runner.upgrade(make_engine(database_url))
    db = Database.connect(database_url)
    world = seed(db, people)
    db.dispose()
    prefix = f"covey-bench-plane-{uuid.uuid4().hex[:8]}"
    mock_port, a_port, b_port = free_port(), free_port(), free_port()
    config = work / "covey.toml"
    config.write_text(
        f'[providers.up]\nkind = "openai"\nbase_url = "http://127.0.0.1:{mock_port}/v1"\nmodels = ["{MODEL}"]\n'
    )
    env = {
        **os.environ,
        "COVEY_DATABASE_URL": database_url,
        "COVEY_CONFIG": str(config),
        "COVEY_REDIS_URL": args.redis,
        "COVEY_REDIS_PREFIX": prefix,
        "COVEY_SNAPSHOT_POLL_SECONDS": "5",  # the bus carries changes; the poll is only a fallback
    }
    a, b = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
    mock = [sys.executable, "-m", "covey.gateway.mock_upstream", "--port", str(mock_port)]
    try:
        with process(mock, env), process(covey(a_port, env), env, f"{a}/readyz") as (proc_a, startup):
            memory = rss_mb(proc_a.pid)
            with process(covey(b_port, env), env, f"{b}/readyz"):
                change = one_change(a, b, world, args.changes)
                quiet, _ = asyncio.run(gateway_under(a, b, world, args.requests, 0))
                with profiled(proc_a.pid, args.profile):
                    started = time.perf_counter()
                    busy, changes = asyncio.run(gateway_under(a, b, world, args.requests, 10))
                    busy_seconds = time.perf_counter() - started
    finally:
        client = redis.Redis.from_url(args.redis)
        stale = list(client.scan_iter(f"{prefix}:*", count=1000))
        if stale:
            client.delete(*stale)
        client.close()
        if args.database.startswith("postgresql"):
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return Row(people, startup, memory, change, quiet, busy, changes, busy_seconds)


def report(rows: list[Row]) -> None:
    print()
    print(
        f"{'people':>7} {'start s':>7} {'RSS MB':>7} | {'api p50':>7} {'api p99':>7} {'local':>7} "
        f"{'B p50':>6} {'B p99':>6} | {'quiet p50':>9} {'p99':>6} | {'churn p50':>9} {'p99':>6} {'ch/s':>5} | "
        f"{'ratio':>5}"
    )
    for r in rows:
        c = r.change
        ratio = pct(r.busy, 0.99) / pct(r.quiet, 0.99)
        print(
            f"{r.people:>7} {r.startup_s:>7.1f} {r.rss_mb:>7.0f} | "
            f"{statistics.median(c.api_ms):>7.1f} {pct(c.api_ms, 0.99):>7.1f} {f'{c.local_ok}/{c.trials}':>7} "
            f"{statistics.median(c.remote_ms):>6.1f} {pct(c.remote_ms, 0.99):>6.1f} | "
            f"{statistics.median(r.quiet) * 1000:>9.2f} {pct(r.quiet, 0.99) * 1000:>6.2f} | "
            f"{statistics.median(r.busy) * 1000:>9.2f} {pct(r.busy, 0.99) * 1000:>6.2f} "
            f"{r.changes / r.busy_seconds:>5.1f} | {ratio:>5.2f}"
        )
    print(
        "times in ms unless marked. api: a key made or revoked through A's management API (commit and local apply"
        " included); local: the next request on A saw it; B: from A's answer until B served it (over Redis);"
        " quiet/churn: A's chat completions at concurrency 16 without changes / while 10 changes a second go"
        " through B; ratio: churn p99 / quiet p99"
    )
    print(f"bars: local = all, B p99 <= 100 ms, ratio <= 1.5 at 100k (load average now {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description="Covey's control plane at scale")
    parser.add_argument("--people", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--requests", type=int, default=3000, help="gateway requests per phase")
    parser.add_argument("--changes", type=int, default=40, help="single changes timed per size")
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL server URL")
    parser.add_argument("--profile", type=Path, help="record A with py-spy under churn (the last size)")
    parser.add_argument("--redis", default=os.environ.get("COVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    random.seed(13)
    rows = []
    with tempfile.TemporaryDirectory(prefix="covey-bench-plane-") as tmp:
        for people in args.people:
            rows.append(run_size(people, args, Path(tmp)))
            print(f"{people} people done", file=sys.stderr)
    report(rows)


if __name__ == "__main__":
    main()
