"""Rate limits and budget counters sharing one Redis batch: a request's admission and its reservation
go in one round trip, and the reservation is made only when the limits admit the request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from covey.budgets.counters import Check
from covey.budgets.redis_counters import RedisCounters
from covey.ratelimits.limiter import RateLimiter
from covey.ratelimits.redis_store import RedisRateLimits
from covey.ratelimits.rules import CONCURRENT, REQUESTS, Limit

NOW = 1_800_000_000.0
LINE = [Check("g@1", 100)]


def limit(kind: str, amount: int) -> Limit:
    return Limit(scope="key:k", kind=kind, amount=amount, label='API key "k"')


def run(redis_url: str, prefix: str, body: Callable[[RedisCounters, RedisRateLimits], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        counters = RedisCounters(redis_url, prefix=prefix, settle_delay=30)
        windows = RedisRateLimits(redis_url, prefix=prefix, batch=counters.batch)
        try:
            return await body(counters, windows)
        finally:
            await windows.close()
            await counters.close()

    return asyncio.run(main())


async def request(counters: RedisCounters, windows: RedisRateLimits, name: str, limits: list[Limit]) -> tuple[Any, ...]:
    """What the gateway does: the admission queued, the reservation sent with it, then the verdict."""
    verdict = windows.admit(request=name, limits=limits, now=NOW, lease_seconds=60)
    hold = await counters.reserve(reservation=name, checks=LINE, estimate=40, now=NOW, hold_seconds=60)
    return (await verdict).failed, hold.failed, hold.amount


def test_admission_and_reservation_travel_in_one_round_trip(redis_url: str, redis_prefix: str) -> None:
    async def body(counters: RedisCounters, windows: RedisRateLimits) -> tuple[Any, ...]:
        first = await request(counters, windows, "a", [limit(REQUESTS, 5)])
        return first, counters.batch.round_trips, counters.batch.operations

    assert run(redis_url, redis_prefix, body) == ((None, None, 40), 1, 2)


def test_a_request_the_limits_refuse_holds_no_budget(redis_url: str, redis_prefix: str) -> None:
    async def body(counters: RedisCounters, windows: RedisRateLimits) -> list[tuple[Any, ...]]:
        limits = [limit(REQUESTS, 1)]
        seen = [await request(counters, windows, name, limits) for name in ("a", "b", "c")]
        # The line has room for two holds of 40: "b" and "c" were refused by the limit and held nothing,
        # so a fourth request under another limit still finds room for one more.
        seen.append(await request(counters, windows, "d", [limit(CONCURRENT, 5)]))
        return seen

    assert run(redis_url, redis_prefix, body) == [(None, None, 40), (0, None, 0), (0, None, 0), (None, None, 40)]


def test_an_admission_the_budget_refuses_is_taken_back(redis_url: str, redis_prefix: str) -> None:
    """With the limiter as the gateway drives it: the line refuses, the request's place in the window
    goes back with the next round trip."""

    async def body(counters: RedisCounters, windows: RedisRateLimits) -> list[int | None]:
        limiter = RateLimiter(store=windows, lease_seconds=60, clock=lambda: NOW)
        limits = [limit(REQUESTS, 1)]
        pending = limiter.admit(limits)
        full = await counters.reserve(reservation="x", checks=[Check("g@1", 10)], estimate=40, now=NOW, hold_seconds=60)
        limiter.cancel(pending)  # as the gateway does on the budget's refusal
        await limiter.admitted(pending)
        after = windows.admit(request="y", limits=limits, now=NOW, lease_seconds=60)
        return [full.failed, (await after).failed]

    assert run(redis_url, redis_prefix, body) == [0, None]


def test_an_admission_whose_request_is_gone_gives_its_lease_back(redis_url: str, redis_prefix: str) -> None:
    async def body(counters: RedisCounters, windows: RedisRateLimits) -> int | None:
        limits = [limit(CONCURRENT, 1)]
        gone = windows.admit(request="gone", limits=limits, now=NOW, lease_seconds=60)
        gone.cancel()  # its request ended before the verdict came
        await counters.flush()  # the verdict came back to nobody: the lease goes in the next round trip
        await counters.flush()
        return (await windows.admit(request="next", limits=limits, now=NOW, lease_seconds=60)).failed

    assert run(redis_url, redis_prefix, body) is None
