"""The guard the gateway calls, on the in-process store with a clock the test moves: periods roll over
in the org's timezone, a request is charged to the period it started in, each line type refuses on
its own with a 412 naming it, and a soft line only alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from covey.budgets.counters import MemoryCounters
from covey.budgets.guard import Guard
from covey.budgets.lines import Line, make_book
from covey.kit.errors import BudgetExceeded

ORG = "org-1"
CENT = 10_000_000
DOLLAR = 100 * CENT


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Alerts:
    """Collects what the guard reports, as the dispatcher would receive it."""

    crossings: list[tuple[str, str, int]] = field(default_factory=list)
    spending: int = 0

    def crossed(self, line: Line, *, period_key: str, threshold: int, spend: int, user_id: str) -> None:
        self.crossings.append((line.id, period_key, threshold))

    def spent(self, *, org_id: str, user_id: str, charged_groups: Sequence[str]) -> None:
        self.spending += 1

    def overran(
        self, *, org_id: str, provider: str, model: str, allowed: int, reported: int | None, key_id: str
    ) -> None:
        raise AssertionError("the guard never reports overruns: the gateway does")


def line(owner_type: str, owner_id: str, amount: int = DOLLAR, **kw: Any) -> Line:
    return Line(
        id=f"{owner_type}-{owner_id}",
        org_id=ORG,
        owner_type=owner_type,
        owner_id=owner_id,
        amount=amount,
        name=owner_id,
        **kw,
    )


def make(lines: list[Line], clock: Clock, tz: str = "America/New_York") -> tuple[Guard, Alerts]:
    alerts = Alerts()
    guard = Guard(store=MemoryCounters(), hold_seconds=600, clock=clock, alerts=alerts)
    guard.book = make_book(lines, timezones={ORG: tz}, revision=1)
    return guard, alerts


REQUEST: dict[str, Any] = {"org_id": ORG, "key_id": "k", "user_id": "u", "charged_groups": ["team", "dept"]}


def test_the_month_rolls_over_in_the_orgs_timezone_and_a_request_keeps_its_start_period() -> None:
    clock = Clock(datetime(2026, 12, 1, 4, 30, tzinfo=UTC))  # 23:30 on November 30th in New York
    guard, _ = make([line("group", "team")], clock)

    async def scenario() -> list[Any]:
        started = await guard.reserve(**REQUEST, estimate=60 * CENT)
        clock.now = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)  # 00:30 on December 1st there
        await guard.settle(started, 60 * CENT)
        december = await guard.reserve(**REQUEST, estimate=60 * CENT)
        await guard.settle(december, 60 * CENT)
        with pytest.raises(BudgetExceeded):
            await guard.reserve(**REQUEST, estimate=60 * CENT)
        return await guard.store.spent(["group:team@2026-11", "group:team@2026-12"])

    assert asyncio.run(scenario()) == [60 * CENT, 60 * CENT]


def test_utc_would_have_rolled_over_earlier() -> None:
    clock = Clock(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    guard, _ = make([line("org", ORG)], clock, tz="Asia/Tokyo")  # already December 1st in Tokyo

    async def scenario() -> list[int]:
        await guard.settle(await guard.reserve(**REQUEST, estimate=CENT), CENT)
        return await guard.store.spent([f"org:{ORG}@2026-11", f"org:{ORG}@2026-12"])

    assert asyncio.run(scenario()) == [0, CENT]


@pytest.mark.parametrize(
    ("blocking", "message"),
    [
        (line("key", "k"), 'Reached monthly budget of API key "k" ($1.00)'),
        (line("user", "u"), 'Reached monthly budget of user "u" ($1.00)'),
        (line("group", "team"), 'Reached monthly budget of group "team" ($1.00)'),
        (line("group", "dept"), 'Reached monthly budget of group "dept" ($1.00)'),  # an ancestor
        (line("member", "dept"), 'Reached monthly per-member budget of group "dept" ($1.00)'),
        (line("org", ORG), f'Reached monthly budget of organization "{ORG}" ($1.00)'),
        (line("group", "team", period="day"), 'Reached daily budget of group "team" ($1.00)'),
    ],
)
def test_each_line_type_blocks_on_its_own(blocking: Line, message: str) -> None:
    roomy = [line(t, o, amount=1000 * DOLLAR) for t, o in [("key", "k"), ("group", "dept"), ("org", ORG)]]
    guard, alerts = make([*roomy, blocking], Clock(datetime(2026, 11, 27, 12, tzinfo=UTC)))

    async def scenario() -> str:
        await guard.settle(await guard.reserve(**REQUEST, estimate=70 * CENT), 70 * CENT)
        with pytest.raises(BudgetExceeded) as refused:
            await guard.reserve(**REQUEST, estimate=40 * CENT)
        # Another user of the same groups is held by a per-member line only for themselves.
        if blocking.owner_type == "member":
            other = await guard.reserve(**{**REQUEST, "user_id": "v", "key_id": "k2"}, estimate=40 * CENT)
            await guard.settle(other, 40 * CENT)
        return refused.value.message

    assert asyncio.run(scenario()) == message
    assert (blocking.id, "2026-11" if blocking.period == "month" else "2026-11-27", 50) in alerts.crossings
    assert (blocking.id, alerts.crossings[-1][1], 100) in alerts.crossings  # a full line reports its 100%


def test_a_soft_line_only_alerts() -> None:
    guard, alerts = make([line("group", "team", enforcement="soft")], Clock(datetime(2026, 11, 27, tzinfo=UTC)))

    async def scenario() -> None:
        for _ in range(3):
            await guard.settle(await guard.reserve(**REQUEST, estimate=90 * CENT), 90 * CENT)

    asyncio.run(scenario())
    assert alerts.crossings == [
        ("group-team", "2026-11", 50),
        ("group-team", "2026-11", 80),
        ("group-team", "2026-11", 100),
    ]


def test_a_failed_call_settles_to_zero_and_spends_nothing() -> None:
    guard, alerts = make([line("group", "team")], Clock(datetime(2026, 11, 27, tzinfo=UTC)))

    async def scenario() -> list[int]:
        for _ in range(5):
            await guard.settle(await guard.reserve(**REQUEST, estimate=90 * CENT), 0)
        return await guard.store.spent(["group:team@2026-11"])

    assert asyncio.run(scenario()) == [0]
    assert alerts.crossings == []


def test_a_keys_plan_is_kept_until_its_lines_change_or_its_day_ends() -> None:
    """A key's plan is made once and kept (the same counters, request after request), yet a line changed
    in the book the way the control plane changes it (that owner's lines swapped in place) holds from
    the next request on, and a day that starts inside a quarter hour (Nepal: UTC+5:45) starts on time."""
    clock = Clock(datetime(2026, 12, 4, 18, 10, tzinfo=UTC))  # 23:55 on December 4th in Kathmandu
    daily = line("group", "team", amount=DOLLAR, period="day")
    guard, _ = make([daily], clock, tz="Asia/Kathmandu")

    async def scenario() -> list[int]:
        first = await guard.reserve(**REQUEST, estimate=60 * CENT)
        second = await guard.reserve(**REQUEST, estimate=30 * CENT)
        assert second.plan is first.plan  # kept
        for ticket in (first, second):
            await guard.settle(ticket, 40 * CENT)
        # The plane swaps the group's lines: the day's budget is now 50 cents, 80 are spent.
        guard.book.lines[("group", "team")] = (line("group", "team", amount=50 * CENT, period="day"),)  # type: ignore[index]
        with pytest.raises(BudgetExceeded):
            await guard.reserve(**REQUEST, estimate=CENT)
        clock.now = datetime(2026, 12, 4, 18, 16, tzinfo=UTC)  # 00:01 on December 5th there: a new day
        fresh = await guard.reserve(**REQUEST, estimate=40 * CENT)
        await guard.settle(fresh, 40 * CENT)
        return await guard.store.spent(["group:team@2026-12-04", "group:team@2026-12-05"])

    assert asyncio.run(scenario()) == [80 * CENT, 40 * CENT]


def test_a_day_that_starts_inside_a_quarter_hour_is_planned_afresh() -> None:
    """Kathmandu kept its local mean time (UTC+5:41:16) until 1920: its days then started at 18:18:44
    UTC, inside a slot of the plan cache. A request on either side of that midnight is charged to its
    own day."""
    clock = Clock(datetime(1899, 12, 31, 18, 16, tzinfo=UTC))  # 23:57 there
    guard, _ = make([line("group", "team", period="day")], clock, tz="Asia/Kathmandu")

    async def scenario() -> list[int]:
        await guard.settle(await guard.reserve(**REQUEST, estimate=CENT), CENT)
        clock.now = datetime(1899, 12, 31, 18, 20, tzinfo=UTC)  # 00:01 on January 1st, 1900 there
        await guard.settle(await guard.reserve(**REQUEST, estimate=CENT), 2 * CENT)
        return await guard.store.spent(["group:team@1899-12-31", "group:team@1900-01-01"])

    assert asyncio.run(scenario()) == [CENT, 2 * CENT]
