"""The windows, in process and in Redis, held to the same behaviour with a clock the test moves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from covey.ratelimits.redis_store import RedisRateLimits
from covey.ratelimits.rules import CONCURRENT, REQUESTS, TOKENS, Limit
from covey.ratelimits.store import MemoryRateLimits, RateLimitStore, Verdict
from tests.budgets.conftest import REDIS_URL, _redis_unreachable
from tests.conftest import IN_CI


class Windows:
    """A store driven from a synchronous test, on one event loop of its own."""

    def __init__(self, make: Any) -> None:
        self.runner = asyncio.Runner()
        self.store: RateLimitStore = self.runner.run(make())

    def admit(
        self, limits: list[Limit], request: str, now: float, tokens: int = 0, least: int | None = None
    ) -> Verdict:
        async def admit() -> Verdict:
            return await self.store.admit(
                request=request, limits=limits, now=now, lease_seconds=30, tokens=tokens, least=least
            )

        return self.runner.run(admit())

    # Queued, as the gateway queues them: each lands before anything queued after it.
    def hold(self, limits: list[Limit], request: str, tokens: int) -> None:
        async def hold() -> None:
            self.store.hold(request=request, limits=limits, tokens=tokens)

        self.runner.run(hold())

    def finish(self, limits: list[Limit], request: str, now: float, tokens: int = 0, cancel: bool = False) -> None:
        async def finish() -> None:
            self.store.finish(request=request, limits=limits, now=now, tokens=tokens, cancel=cancel)

        self.runner.run(finish())

    def close(self) -> None:
        self.runner.run(self.store.close())
        self.runner.close()


@pytest.fixture(params=["memory", "redis"])
def windows(request: pytest.FixtureRequest) -> Iterator[Windows]:
    if request.param == "memory":

        async def memory() -> RateLimitStore:
            return MemoryRateLimits()

        made = Windows(memory)
        yield made
        made.close()
        return
    reason = _redis_unreachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires Redis: {reason}")
        pytest.skip(reason)
    prefix = f"covey-test-{uuid.uuid4().hex[:12]}"

    async def shared() -> RateLimitStore:
        return RedisRateLimits(REDIS_URL, prefix=prefix)

    made = Windows(shared)
    yield made
    made.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def limit(kind: str, amount: int, scope: str = "key:k") -> Limit:
    return Limit(scope=scope, kind=kind, amount=amount, label='API key "k"')


def test_requests_per_minute_is_a_sliding_window(windows: Windows) -> None:
    limits = [limit(REQUESTS, 3)]
    t = 1_000_000.0
    remaining = [windows.admit(limits, f"r{i}", t + i).standings[0].remaining for i in range(3)]
    assert remaining == [2, 1, 0]
    refused = windows.admit(limits, "r3", t + 10)
    assert refused.failed == 0
    assert refused.wait_seconds == pytest.approx(50, abs=0.01)  # the first leaves the window at t + 60
    assert windows.admit(limits, "r4", t + 59.9).failed == 0
    assert windows.admit(limits, "r5", t + 60.5).failed is None  # r0 left the window


def test_a_refusal_counts_on_no_limit(windows: Windows) -> None:
    """All or nothing: a request refused by the group's limit is not counted on the key's."""
    key, group = limit(REQUESTS, 10), limit(REQUESTS, 1, scope="group:g")
    t = 2_000_000.0
    assert windows.admit([key, group], "a", t).failed is None
    assert windows.admit([key, group], "b", t + 1).failed == 1
    assert windows.admit([key], "c", t + 2).standings[0].remaining == 8  # a and c, not b


def test_concurrency_leases_are_released_or_expire(windows: Windows) -> None:
    limits = [limit(CONCURRENT, 2)]
    t = 3_000_000.0
    assert windows.admit(limits, "a", t).failed is None
    assert windows.admit(limits, "b", t).failed is None
    assert windows.admit(limits, "c", t).failed == 0
    windows.finish(limits, "a", t + 1)
    assert windows.admit(limits, "c", t + 1).failed is None
    assert windows.admit(limits, "d", t + 2).failed == 0
    # b and c never finish (a crashed replica): their leases of 30 s run out.
    assert windows.admit(limits, "d", t + 31.5).failed is None


def test_leases_run_out_in_turn_while_newer_ones_hold(windows: Windows) -> None:
    """Many requests in flight, none finishing: each lease runs out 30 s after its own start, the
    older first, and the newer keep holding their room (estimates likewise, a minute later)."""
    limits = [limit(CONCURRENT, 5), limit(TOKENS, 50)]
    t = 3_500_000.0
    for n in range(5):
        assert windows.admit(limits, f"r{n}", t + n, tokens=10).failed is None
    assert windows.admit(limits, "late", t + 5).failed == 0
    assert windows.admit(limits, "x", t + 31.5).failed == 1  # r0 and r1's leases ran out, not their estimates
    assert windows.admit(limits, "y", t + 91.5, tokens=20).standings[1].remaining == 50 - 30 - 20
    assert windows.admit(limits, "z", t + 93.5, tokens=25).failed == 1  # r4's 10 and y's 20 still hold
    assert windows.admit(limits, "z", t + 94.5, tokens=25).failed is None  # r4's ran out


def test_tokens_per_minute_counts_finished_requests(windows: Windows) -> None:
    limits = [limit(TOKENS, 100)]
    t = 4_000_000.0
    assert windows.admit(limits, "a", t).standings[0].remaining == 100
    windows.finish(limits, "a", t + 1, tokens=70)
    assert windows.admit(limits, "b", t + 2).standings[0].remaining == 30
    windows.finish(limits, "b", t + 3, tokens=40)
    refused = windows.admit(limits, "c", t + 4)
    assert refused.failed == 0 and refused.wait_seconds == pytest.approx(57, abs=0.01)
    assert windows.admit(limits, "d", t + 61.5).standings[0].remaining == 60  # a's 70 left, b's 40 stay


def test_a_cancelled_request_gives_its_request_back(windows: Windows) -> None:
    limits = [limit(REQUESTS, 1), limit(CONCURRENT, 1)]
    t = 5_000_000.0
    assert windows.admit(limits, "a", t).failed is None
    windows.finish(limits, "a", t, cancel=True)  # e.g. refused by a budget before going upstream
    assert windows.admit(limits, "b", t + 1).failed is None


def test_requests_in_flight_hold_their_estimates(windows: Windows) -> None:
    limits = [limit(TOKENS, 100), limit(REQUESTS, 10)]
    t = 6_000_000.0
    a = windows.admit(limits, "a", t, tokens=60)
    assert a.failed is None and a.held == 60 and a.standings[0].remaining == 40
    assert windows.admit(limits, "b", t, tokens=50).failed == 0  # 40 left: b's 50 do not fit
    b = windows.admit(limits, "b", t, tokens=50, least=10)  # … unless it may take less
    assert b.failed is None and b.held == 40 and b.standings[0].remaining == 0
    assert windows.admit(limits, "c", t, tokens=1).failed == 0
    windows.hold(limits, "b", 30)  # b's cap was lowered after admission
    windows.finish(limits, "a", t + 1, tokens=25)  # settled to what it used
    c = windows.admit(limits, "c", t + 2, tokens=45)
    assert c.failed is None and c.standings[0].remaining == 100 - 25 - 30 - 45
    windows.finish(limits, "b", t + 3, cancel=True)  # refused after admission: its estimate goes back
    windows.finish(limits, "c", t + 4, tokens=0)
    assert windows.admit(limits, "d", t + 5, tokens=1).standings[0].remaining == 100 - 25 - 1
    # d never finishes (a crashed replica): a's tokens leave the minute, d's estimate a minute after its
    # lease of 30 s ran out.
    assert windows.admit(limits, "e", t + 61.5).standings[0].remaining == 99
    assert windows.admit(limits, "f", t + 95.5).standings[0].remaining == 100


def test_an_estimate_held_past_the_minute_still_counts(windows: Windows) -> None:
    """A request in flight longer than the window keeps its estimate until it finishes (or its lease ends)."""
    limits = [limit(TOKENS, 100)]
    t = 7_000_000.0
    assert windows.admit(limits, "a", t, tokens=90).failed is None
    refused = windows.admit(limits, "b", t + 25, tokens=20)
    assert refused.failed == 0 and refused.wait_seconds == pytest.approx(1)  # only in-flight holds the room
    windows.finish(limits, "a", t + 29, tokens=85)
    refused = windows.admit(limits, "b", t + 30, tokens=20)
    assert refused.failed == 0 and refused.wait_seconds == pytest.approx(59, abs=0.01)
    assert windows.admit(limits, "b", t + 89.5, tokens=20).failed is None
