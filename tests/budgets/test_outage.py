"""After the Redis counters were away, the budgets runtime makes them good from the usage records: a
Redis that came back without its data is refilled, and settles that could not reach it are added
once their records have landed. Counters are only raised, never lowered."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from covey.app import create_app
from covey.budgets.runtime import BudgetsRuntime
from covey.config import Settings
from covey.kit.db import Database
from covey.kit.ids import new_id
from tests.budgets.conftest import GATEWAY_CONFIG, gateway_settings
from tests.budgets.test_runtime import CENT, plant
from tests.budgets.traffic import hammer, wait_served
from tests.conftest import BACKEND, IN_CI, Org
from tests.gateway.servers import covey_serve, serve


@contextlib.asynccontextmanager
async def running(settings: Settings, db: Database) -> AsyncIterator[BudgetsRuntime]:
    runtime = await BudgetsRuntime.start(settings, db)
    try:
        yield runtime
    finally:
        await runtime.stop()


async def until(check: Callable[[], Awaitable[bool]], *, tries: int = 300, pause: float = 0.05) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(pause)
    raise AssertionError(f"not made good after {tries} polls")


def test_counters_lost_with_redis_data_come_back_from_the_records(
    org: Org, db: Database, settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    team, k1, u1 = org.group(), new_id(), new_id()
    plant(db, org, key=k1, user=u1, groups=[team], cost=3 * CENT)
    shared = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})

    async def scenario() -> None:
        async with running(shared, db) as runtime:
            counters = [runtime.guard.counter(org.id, s) for s in (f"group:{team}", f"key:{k1}", f"org:{org.id}")]
            assert await runtime.store.spent(counters) == [3 * CENT] * 3
            # A Redis restarted without persistence: every key of this prefix gone.
            client = redis.Redis.from_url(redis_url)
            client.delete(*client.scan_iter(f"{redis_prefix}:*"))
            client.close()
            assert await runtime.store.spent(counters) == [0, 0, 0]

            async def refilled() -> bool:
                return await runtime.store.spent(counters) == [3 * CENT] * 3

            await until(refilled)
            assert await runtime.store.intact()

    asyncio.run(scenario())


class PrivateRedis:
    """A redis-server of this test's own, saving to a folder, that can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        self.process = subprocess.Popen([*command, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        raise AssertionError("redis-server did not start")

    def stop_keeping_data(self) -> None:
        """SHUTDOWN SAVE: the next start loads the same counters."""
        with contextlib.suppress(redis.exceptions.ConnectionError):  # it may hang up as it stops
            redis.Redis.from_url(self.url).shutdown(save=True)
        assert self.process is not None
        self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("CI requires redis-server on the PATH")
        pytest.skip("redis-server is not installed: this test runs a Redis of its own")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.process.kill()
        server.process.wait(10)


def test_a_settle_that_missed_redis_is_added_once_its_record_lands(
    org: Org, db: Database, settings: Settings, private_redis: PrivateRedis
) -> None:
    team, k2, u2 = org.group(), new_id(), new_id()
    plant(db, org, key=k2, user=u2, groups=[team], cost=3 * CENT)
    shared = settings.model_copy(update={"redis_url": private_redis.url, "redis_prefix": "outage"})

    async def scenario() -> None:
        async with running(shared, db) as runtime:
            guard = runtime.guard
            counters = [guard.counter(org.id, s) for s in (f"group:{team}", f"key:{k2}", f"org:{org.id}")]
            ticket = await guard.reserve(org_id=org.id, key_id=k2, user_id=u2, charged_groups=[team], estimate=CENT)
            # Redis restarts (keeping its data) while the request is in flight: its settle cannot land.
            await asyncio.to_thread(private_redis.stop_keeping_data)
            await guard.settle(ticket, 2 * CENT)
            assert guard.missed_settles == 1
            # The gateway wrote the request's usage record before settling; the writer flushes it.
            await asyncio.to_thread(plant, db, org, key=k2, user=u2, groups=[team], cost=2 * CENT)
            await asyncio.to_thread(private_redis.start)
            assert await runtime.store.spent(counters) == [3 * CENT] * 3  # the data came back, the settle did not

            async def made_good() -> bool:
                return guard.missed_settles == 0

            await until(made_good)
            assert await runtime.store.spent(counters) == [5 * CENT] * 3

    asyncio.run(scenario())


def test_counters_above_the_records_are_left_alone(
    org: Org, db: Database, settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    """A request that settled before its record landed is ahead of the records, not wrong."""
    team, k3, u3 = org.group(), new_id(), new_id()
    plant(db, org, key=k3, user=u3, groups=[team], cost=3 * CENT)
    shared = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})

    async def scenario() -> None:
        async with running(shared, db) as runtime:
            guard = runtime.guard
            counter = guard.counter(org.id, f"key:{k3}")
            ticket = await guard.reserve(org_id=org.id, key_id=k3, user_id=u3, charged_groups=[team], estimate=CENT)
            await guard.settle(ticket, 4 * CENT)
            guard.missed_settles, guard.last_miss = 1, 0.0  # as if another settle had missed

            async def made_good() -> bool:
                return guard.missed_settles == 0

            await until(made_good)
            assert await runtime.store.spent([counter]) == [7 * CENT]

    asyncio.run(scenario())


def test_counters_refilled_under_load_agree_with_the_records_within_seconds(
    org: Org, database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """Redis loses its data while requests flow through the gateway: once it answers again, `covey
    doctor` finds no drift within a few seconds — no settle lost to the refill, none counted twice."""
    settings = gateway_settings(database_url, tmp_path / "covey.toml", redis_url=redis_url, redis_prefix=redis_prefix)
    group = org.group(monthly_budget="1000")
    user = org.user()
    org.add_member(group, user)
    api = org.key(user, group_id=group, manage="none")
    secret = api.headers["Authorization"].removeprefix("Bearer ")
    with serve(create_app(settings)) as url:
        wait_served(url, secret)
        load = threading.Thread(target=hammer, args=([url], secret), kwargs={"clients": 8, "each": 40})
        load.start()
        time.sleep(0.4)
        client = redis.Redis.from_url(redis_url)
        client.delete(*client.scan_iter(f"{redis_prefix}:*"))  # a restart without persistence
        client.close()
        load.join()

        def healthy() -> dict[str, Any] | None:
            report = httpx.get(f"{url}/v1/manage/doctor", headers=org.admin.headers).json()
            return report if report["healthy"] else None

        started = time.monotonic()
        report = None
        while report is None and time.monotonic() - started < 5:
            report = healthy()
            time.sleep(0.1)
        last = httpx.get(f"{url}/v1/manage/doctor", headers=org.admin.headers).json()
        assert report is not None, last["drifts"][:5]


def lose_redis_data(redis_url: str, prefix: str) -> None:
    """What a Redis restarted without persistence leaves of the counters: nothing."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.skipif(BACKEND != "postgresql", reason="two processes share PostgreSQL: runs in the PostgreSQL pass")
def test_two_replicas_under_load_agree_with_the_records_after_redis_lost_its_data_twice(
    org: Org, database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """Two `covey serve` processes on one PostgreSQL and one Redis, requests flowing through both; Redis
    loses its data twice while they flow. Each process holds records the other has not seen and settles
    the other does not know of, yet once the traffic ends `covey doctor` finds no drift on either."""
    config = tmp_path / "covey.toml"
    config.write_text(GATEWAY_CONFIG)
    env = {
        "COVEY_DATABASE_URL": database_url,
        "COVEY_REDIS_URL": redis_url,
        "COVEY_REDIS_PREFIX": redis_prefix,
        "COVEY_CONFIG": str(config),
        "COVEY_SNAPSHOT_POLL_SECONDS": "0.1",
        "COVEY_USAGE_FLUSH_SECONDS": "0.2",
    }
    group = org.group(monthly_budget="1000")
    user = org.user()
    org.add_member(group, user)
    secret = org.key(user, group_id=group, manage="none").key
    with covey_serve(env, 2, logs=tmp_path) as urls:
        for url in urls:
            wait_served(url, secret)
        results: list[tuple[int, str]] = []
        load = threading.Thread(
            target=lambda: results.extend(hammer(urls, secret, clients=16, each=40)), name="load", daemon=True
        )
        load.start()
        for _ in range(2):
            time.sleep(0.6)
            lose_redis_data(redis_url, redis_prefix)
        load.join()
        assert {status for status, _ in results} == {200}, results[:5]
        reports: list[dict[str, Any]] = []
        for _ in range(300):  # a generous while: the answer must come, not come fast
            reports = [httpx.get(f"{url}/v1/manage/doctor", headers=org.admin.headers).json() for url in urls]
            if all(r["healthy"] for r in reports):
                break
            time.sleep(0.1)
        assert all(r["healthy"] for r in reports), [r["drifts"][:5] for r in reports]
        assert reports[0]["checked"] > 0
