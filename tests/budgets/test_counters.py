"""Both counter stores against one contract: the in-process one and Redis (real server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from covey.budgets.counters import Check, CounterStore, Hold, MemoryCounters
from covey.budgets.redis_counters import RedisCounters

Make = Callable[[], CounterStore]
Store = TypeVar("Store", bound=CounterStore)
NOW = 1_800_000_000.0


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Make:
    if request.param == "memory":
        return MemoryCounters
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    return lambda: RedisCounters(url, prefix=prefix)


def run(make: Callable[[], Store], body: Callable[[Store], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = make()
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


def test_reserve_then_settle_charges_the_real_cost(make: Make) -> None:
    async def body(store: CounterStore) -> list[int]:
        assert (
            await store.reserve(reservation="r1", checks=[Check("g@1", 100)], estimate=60, now=NOW, hold_seconds=60)
        ).failed is None
        # 60 held: a second request of 60 finds no room
        assert (
            await store.reserve(reservation="r2", checks=[Check("g@1", 100)], estimate=60, now=NOW, hold_seconds=60)
        ).failed == 0
        totals = await store.settle(reservation="r1", counters=["g@1", "k@1"], actual=25)
        assert (
            await store.reserve(reservation="r3", checks=[Check("g@1", 100)], estimate=60, now=NOW, hold_seconds=60)
        ).failed is None
        return totals + await store.spent(["g@1", "k@1", "unknown@1"])

    assert run(make, body) == [25, 25, 25, 25, 0]


def test_the_first_line_without_room_is_named_and_nothing_is_reserved(make: Make) -> None:
    async def body(store: CounterStore) -> tuple[Any, ...]:
        await store.settle(reservation="old", counters=["b@1"], actual=90)
        checks = [Check("a@1", 1000), Check("b@1", 100), Check("c@1", 10)]
        failed = (await store.reserve(reservation="r", checks=checks, estimate=20, now=NOW, hold_seconds=60)).failed
        # Had `a` been reserved, this would not fit.
        fits = (
            await store.reserve(reservation="r2", checks=[Check("a@1", 20)], estimate=20, now=NOW, hold_seconds=60)
        ).failed
        return failed, fits

    assert run(make, body) == (1, None)


def test_two_lines_on_one_counter_hold_the_request_once(make: Make) -> None:
    async def body(store: CounterStore) -> tuple[Any, ...]:
        checks = [Check("g@1", 100), Check("g@1", 50)]
        first = (await store.reserve(reservation="r1", checks=checks, estimate=30, now=NOW, hold_seconds=60)).failed
        second = (
            await store.reserve(reservation="r2", checks=[Check("g@1", 60)], estimate=30, now=NOW, hold_seconds=60)
        ).failed
        third = (
            await store.reserve(reservation="r3", checks=[Check("g@1", 89)], estimate=30, now=NOW, hold_seconds=60)
        ).failed
        return first, second, third

    assert run(make, body) == (None, None, 0)


def test_an_expired_reservation_no_longer_holds_room(make: Make) -> None:
    async def body(store: CounterStore) -> tuple[Any, ...]:
        await store.reserve(reservation="crashed", checks=[Check("g@1", 100)], estimate=80, now=NOW, hold_seconds=30)
        during = (
            await store.reserve(reservation="r", checks=[Check("g@1", 100)], estimate=80, now=NOW + 29, hold_seconds=30)
        ).failed
        after = (
            await store.reserve(reservation="r", checks=[Check("g@1", 100)], estimate=80, now=NOW + 31, hold_seconds=30)
        ).failed
        return during, after

    assert run(make, body) == (0, None)


def test_a_short_hold_behind_a_long_one_expires_on_time(make: Make) -> None:
    """A 10-second hold made after a 100-second one stops counting at its own expiry, not the first's;
    the long one still counts until its own."""

    async def body(store: CounterStore) -> tuple[Any, ...]:
        checks = [Check("g@1", 100)]
        await store.reserve(reservation="long", checks=checks, estimate=30, now=NOW, hold_seconds=100)
        await store.reserve(reservation="short", checks=checks, estimate=50, now=NOW + 1, hold_seconds=10)

        async def room(at: float, estimate: int) -> int | None:
            hold = await store.reserve(
                reservation=f"probe{at}", checks=checks, estimate=estimate, now=NOW + at, hold_seconds=0.001
            )
            return hold.failed

        return (
            await room(10, 21),  # both held (80): 21 does not fit
            await room(12, 70),  # the short one expired at 11: 70 fits beside the long one's 30
            await room(99, 71),  # the long one still holds 30
            await room(101, 100),  # and it expired at 100
        )

    assert run(make, body) == (0, None, 0, None)


def test_a_failed_call_settles_to_zero_and_frees_its_hold(make: Make) -> None:
    async def body(store: CounterStore) -> tuple[Any, ...]:
        await store.reserve(reservation="r", checks=[Check("g@1", 100)], estimate=100, now=NOW, hold_seconds=60)
        totals = await store.settle(reservation="r", counters=["g@1"], actual=0)
        again = (
            await store.reserve(reservation="r2", checks=[Check("g@1", 100)], estimate=100, now=NOW, hold_seconds=60)
        ).failed
        return totals, again

    assert run(make, body) == ([0], None)


def test_seed_keeps_existing_counters_and_replace_overwrites(make: Make) -> None:
    async def body(store: CounterStore) -> list[int]:
        await store.settle(reservation="r", counters=["a@1"], actual=7)
        await store.seed({"a@1": 100, "b@1": 5})
        await store.replace({"c@1": 3})
        await store.replace({"a@1": 9})
        return await store.spent(["a@1", "b@1", "c@1"]) + store.spent_sync(["a@1"])

    assert run(make, body) == [9, 5, 3, 9]


def test_raise_to_only_raises(make: Make) -> None:
    async def body(store: CounterStore) -> tuple[Any, ...]:
        await store.settle(reservation="r", counters=["a@1", "b@1"], actual=10)
        raised = await store.raise_to({"a@1": 4, "b@1": 12, "c@1": 6})
        return raised, await store.spent(["a@1", "b@1", "c@1"])

    assert run(make, body) == (2, [10, 12, 6])


def test_a_cut_starts_a_generation_once_and_settles_say_which_they_landed_in(redis_url: str, redis_prefix: str) -> None:
    """Without a mark, settles land in no generation; the first cut replaces every counter with its
    values and marks the store, a second finds the mark and changes nothing; a catch-up counts only
    in the generation it was meant for."""

    async def body(store: RedisCounters) -> list[Any]:
        before = await store.settle(reservation="r1", counters=["a@1", "x@1"], actual=10)
        seen = [await store.intact(), getattr(before, "generation", "?")]
        seen.append(await asyncio.to_thread(store.cut_sync, {"a@1": 100, "b@1": 5}, "g1"))
        seen.append(await asyncio.to_thread(store.cut_sync, {"a@1": 1}, "g2"))
        after = await store.settle(reservation="r2", counters=["a@1"], actual=1)
        seen += [list(after), getattr(after, "generation", "?"), await store.intact()]
        seen.append(await asyncio.to_thread(store.catch_up_sync, {"b@1": 2}, "g1"))
        seen.append(await asyncio.to_thread(store.catch_up_sync, {"b@1": 1000}, "g0"))
        seen.append(await store.spent(["a@1", "b@1", "x@1"]))
        return seen

    got = run(lambda: RedisCounters(redis_url, prefix=redis_prefix), body)
    assert got == [False, None, True, False, [101], "g1", True, True, False, [101, 7, 0]]


def test_concurrent_reservations_never_pass_the_limit(make: Make) -> None:
    """100 requests of 7 against a limit of 100: exactly 14 fit, whatever the interleaving."""

    async def body(store: CounterStore) -> tuple[int, list[int]]:
        async def one(n: int) -> bool:
            got = (
                await store.reserve(
                    reservation=f"r{n}",
                    checks=[Check("o@1", 1000), Check("g@1", 100)],
                    estimate=7,
                    now=NOW,
                    hold_seconds=60,
                )
            ).failed
            if got is not None:
                return False
            await asyncio.sleep(0)
            await store.settle(reservation=f"r{n}", counters=["g@1", "o@1"], actual=7)
            return True

        results = await asyncio.gather(*(one(n) for n in range(100)))
        return sum(results), await store.spent(["g@1", "o@1"])

    admitted, spent = run(make, body)
    assert admitted == 14
    assert spent == [98, 98]


def test_redis_unreachable_is_reported() -> None:
    from covey.budgets.counters import CountersUnavailable

    async def body() -> None:
        store = RedisCounters("redis://127.0.0.1:1/0", prefix="nowhere")
        try:
            with pytest.raises(CountersUnavailable):
                await store.reserve(reservation="r", checks=[Check("g@1", 1)], estimate=1, now=NOW, hold_seconds=1)
            with pytest.raises(CountersUnavailable):
                await store.ping()
        finally:
            await store.close()

    asyncio.run(body())


def redis_store(redis_url: str, redis_prefix: str, settle_delay: float = 0.002) -> RedisCounters:
    return RedisCounters(redis_url, prefix=redis_prefix, settle_delay=settle_delay)


def test_concurrent_operations_share_round_trips_and_keep_arrival_order(redis_url: str, redis_prefix: str) -> None:
    """Reservations made together travel in one script, run in the order they were asked for: with room
    for two, the first two asked get it, whatever else is in the batch."""

    async def body(store: RedisCounters) -> tuple[list[int | None], int, list[int]]:
        asks = [
            store.reserve(reservation=f"r{n}", checks=[Check("g@1", 100)], estimate=50, now=NOW, hold_seconds=60)
            for n in range(10)
        ]
        got = await asyncio.gather(*asks)
        trips = store.round_trips
        await asyncio.gather(store.settle(reservation="r0", counters=["g@1"], actual=50))
        return [h.failed for h in got], trips, await store.spent(["g@1"])

    got, trips, spent = run(lambda: redis_store(redis_url, redis_prefix), body)
    assert got == [None, None] + [0] * 8
    assert trips == 1
    assert spent == [50]


def test_a_settle_waits_for_a_reservation_to_travel_with(redis_url: str, redis_prefix: str) -> None:
    async def body(store: RedisCounters) -> tuple[int, int | None, list[int], int]:
        await store.reserve(reservation="a", checks=[Check("g@1", 100)], estimate=60, now=NOW, hold_seconds=60)
        before = store.round_trips
        settled = asyncio.ensure_future(store.settle(reservation="a", counters=["g@1"], actual=10))
        await asyncio.sleep(0)  # the settle is queued, not sent: nobody waits on it
        # The reservation that comes next finds the settled room: both went in its round trip, in order.
        fits = (
            await store.reserve(reservation="b", checks=[Check("g@1", 100)], estimate=90, now=NOW, hold_seconds=60)
        ).failed
        return store.round_trips - before, fits, await settled, store.round_trips

    # A delay no scheduler hiccup reaches: the settle goes only with the reservation.
    trips, fits, totals, _ = run(lambda: redis_store(redis_url, redis_prefix, settle_delay=30), body)
    assert (trips, fits, totals) == (1, None, [10])


def test_a_lone_settle_lands_within_its_delay_and_close_sends_what_waits(redis_url: str, redis_prefix: str) -> None:
    async def body(store: RedisCounters) -> tuple[list[int], list[int]]:
        alone = await asyncio.wait_for(store.settle(reservation="x", counters=["g@1"], actual=3), 1)
        later = asyncio.ensure_future(store.settle(reservation="y", counters=["g@1"], actual=4))
        await asyncio.sleep(0)
        await store.flush()
        assert await asyncio.wait_for(later, 1) == [7]
        return alone, await store.spent(["g@1"])

    assert run(lambda: redis_store(redis_url, redis_prefix), body) == ([3], [7])


def test_a_reservation_whose_request_is_gone_gives_its_room_back(redis_url: str, redis_prefix: str) -> None:
    async def body(store: RedisCounters) -> int | None:
        gone = asyncio.ensure_future(
            store.reserve(reservation="gone", checks=[Check("g@1", 100)], estimate=100, now=NOW, hold_seconds=60)
        )
        await asyncio.sleep(0)  # sent
        gone.cancel()
        await store.flush()  # its answer came back to nobody: released in the next round trip
        checks = [Check("g@1", 100)]
        return (await store.reserve(reservation="next", checks=checks, estimate=100, now=NOW, hold_seconds=60)).failed

    assert run(lambda: redis_store(redis_url, redis_prefix), body) is None


def test_a_reservation_with_a_least_takes_the_room_left_down_to_it(make: Make) -> None:
    """Asked for 60 with at least 10: all of it while it fits, then what the tightest line has left, and
    a refusal naming that line once less than 10 is left."""

    async def body(store: CounterStore) -> list[Hold]:
        checks = [Check("o@1", 1000), Check("g@1", 100)]

        async def ask(name: str, least: int | None = 10) -> Hold:
            return await store.reserve(
                reservation=name, checks=checks, estimate=60, least=least, now=NOW, hold_seconds=60
            )

        got = [await ask("a"), await ask("b"), await ask("c"), await ask("d", None)]
        await store.settle(reservation="b", counters=["o@1", "g@1"], actual=35)  # 5 of its 40 given back
        return [
            *got,
            await ask("e"),
            await store.reserve(reservation="f", checks=checks, estimate=60, least=5, now=NOW, hold_seconds=60),
        ]

    assert run(make, body) == [
        Hold(None, 60),
        Hold(None, 40),
        Hold(1, 0),
        Hold(1, 0),
        Hold(1, 0),
        Hold(None, 5),
    ]
