"""Every key the Redis counters make expires by itself, and never while it still holds what a request
needs: a counter two months past its period, a request's hold while any hold on the counter lives."""

from __future__ import annotations

import asyncio
import time

import redis

from covey.budgets.counters import Check
from covey.budgets.redis_counters import COUNTER_TTL_SECONDS, RedisCounters

HOLD = 900.0
KEEP_MS = (HOLD + 60) * 1000  # the newest hold's life, and its margin


def test_counters_and_holds_expire_by_themselves(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"{redis_prefix}:{{}}:group:g@2026-12"

    async def main() -> None:
        store = RedisCounters(redis_url, prefix=redis_prefix)
        try:
            checks = [Check("group:g@2026-12", 10**12)]

            async def reserve(name: str) -> None:
                held = await store.reserve(
                    reservation=name, checks=checks, estimate=100, now=time.time(), hold_seconds=HOLD
                )
                assert held.failed is None and held.amount == 100

            # A hold starts the counter's hold keys, each expiring after twice the hold's life.
            await reserve("a")
            for part in ("r", "a", "t"):
                assert KEEP_MS < client.pttl(key.format(part)) <= 2 * KEEP_MS
            # A busy counter whose holds never all end: when less than one life is left, it moves on.
            for part in ("r", "a", "t"):
                client.pexpire(key.format(part), 5_000)
            await reserve("b")
            for part in ("r", "a", "t"):
                assert client.pttl(key.format(part)) > KEEP_MS
            # The counter itself is made by the first settle, with its expiry; later settles keep it.
            await store.settle(reservation="a", counters=["group:g@2026-12"], actual=40)
            assert COUNTER_TTL_SECONDS - 5 < client.ttl(key.format("c")) <= COUNTER_TTL_SECONDS
            await store.settle(reservation="b", counters=["group:g@2026-12"], actual=30)
            assert int(client.get(key.format("c")) or 0) == 70
            assert client.ttl(key.format("c")) > COUNTER_TTL_SECONDS - 5
            # Every hold ended: the set and hash are gone, and a new hold makes them again with an expiry
            # even though the sum (still there, at 0) has plenty of life left.
            assert not client.exists(key.format("r"), key.format("a"))
            assert int(client.get(key.format("t")) or 0) == 0
            await reserve("c")
            for part in ("r", "a", "t"):
                assert KEEP_MS < client.pttl(key.format(part)) <= 2 * KEEP_MS
        finally:
            await store.close()
            client.close()

    asyncio.run(main())
