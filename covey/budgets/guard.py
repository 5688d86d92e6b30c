"""Budget enforcement on the gateway's hot path: reserve before the upstream call, settle after.

Both read only memory (the book of lines) and the counter store; threshold crossings and usage go to
an `AlertSink`, which handles them off the hot path.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from covey.budgets import lines
from covey.budgets.counters import Check, CounterStore, CountersUnavailable
from covey.budgets.lines import Book, Line, Plan
from covey.budgets.periods import period_key, zone
from covey.kit.clock import utcnow
from covey.kit.errors import BudgetExceeded, ServiceUnavailable

log = logging.getLogger("covey.budgets")
# A key's plan is kept for the rest of its slot of time: a quarter of an hour, so a slot never holds the
# start of a day in any timezone of today's world (their offsets are whole quarter hours; the guard
# checks it all the same).
PLAN_SLOT_SECONDS = 900
PLANS_KEPT = 50_000
UNAVAILABLE = (
    "Budget counters are unavailable (Redis is not reachable): "
    "requests under a hard budget are refused until it is back"
)


class AlertSink(Protocol):
    def crossed(self, line: Line, *, period_key: str, threshold: int, spend: int, user_id: str) -> None: ...

    def spent(self, *, org_id: str, user_id: str, charged_groups: Sequence[str]) -> None: ...

    def overran(
        self, *, org_id: str, provider: str, model: str, allowed: int, reported: int | None, key_id: str
    ) -> None:
        """An upstream wrote past the output cap it was sent (`reported`: what it billed, when it said)."""
        ...


@dataclass(slots=True)
class Ticket:
    reservation: str
    plan: Plan
    estimate: int  # held on every hard line: the amount asked for, or less when `least` let it shrink
    org_id: str
    user_id: str
    charged_groups: tuple[str, ...]
    at: datetime  # when the request started: its period, and its usage record's time
    settled: bool = False
    # Once its settle has been answered (or failed): what it added, and the counters' generation it
    # landed in (None: a store without generations, or one that had lost its data); `missed` when it
    # could not reach the store. The usage writer reads these (`covey.budgets.cut`).
    landed: bool = False
    actual: int = 0
    generation: str | None = None
    missed: bool = False


@dataclass(frozen=True, slots=True)
class _Planned:
    owned: tuple[tuple[Line, ...], ...]
    plan: Plan
    checks: list[Check]


class Guard:
    def __init__(
        self,
        *,
        store: CounterStore,
        hold_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        alerts: AlertSink | None = None,
    ) -> None:
        self.store = store
        self.hold_seconds = hold_seconds
        self.clock = clock
        self.alerts = alerts
        self.book = Book()
        # Each key's last plan (`_planned`), by who it charges, with the slot of time and the lines it was
        # made for; all of it goes when a new slot begins.
        self._plans: dict[tuple[str, ...], _Planned] = {}
        self._slot = -1
        # Settles that could not reach the store, and when the last one failed (monotonic seconds): the
        # budgets runtime brings the counters back up to the usage records once the store answers.
        self.missed_settles = 0
        self.last_miss = 0.0
        # Reservation ids: unique across replicas (a random prefix per process), cheap to make.
        self._prefix = secrets.token_hex(6)
        self._ids = itertools.count()
        self._settling: set[asyncio.Task[None]] = set()
        # While the budgets runtime refills counters from the usage records, settles wait here.
        self._deferred: list[tuple[Ticket, int]] | None = None

    async def reserve(
        self,
        *,
        org_id: str,
        key_id: str,
        user_id: str,
        charged_groups: Sequence[str],
        estimate: int,
        least: int | None = None,
    ) -> Ticket:
        """Hold `estimate` on every hard line of the request — or, given `least`, all the room the
        tightest line has left when that is less but at least `least` (`ticket.estimate` says what was
        held) — or refuse it: 412 naming the first line without room, 503 when the counters cannot be
        reached and a hard line applies."""
        now = self.clock()
        plan, asked = self._planned(
            org_id=org_id, key_id=key_id, user_id=user_id, charged_groups=charged_groups, at=now
        )
        ticket = Ticket(
            reservation=f"{self._prefix}-{next(self._ids)}",
            plan=plan,
            estimate=estimate,
            org_id=org_id,
            user_id=user_id,
            charged_groups=tuple(charged_groups),
            at=now,
        )
        checks = plan.checks
        if not checks:
            return ticket
        try:
            held = await self.store.reserve(
                reservation=ticket.reservation,
                checks=asked,
                estimate=estimate,
                least=least,
                now=now.timestamp(),
                hold_seconds=self.hold_seconds,
            )
        except CountersUnavailable as exc:
            log.error("budget counters unavailable: %s", exc)
            raise ServiceUnavailable(UNAVAILABLE) from None
        failed = held.failed
        if failed is not None:
            watched = checks[failed]
            if self.alerts is not None and 100 in watched.line.thresholds:
                # The line is full: its 100% alert fires even if no charge ever lands exactly on it.
                try:
                    spend = (await self.store.spent([watched.counter]))[0]
                except CountersUnavailable:
                    spend = watched.line.amount
                self.alerts.crossed(
                    watched.line, period_key=watched.period_key, threshold=100, spend=spend, user_id=user_id
                )
            raise BudgetExceeded(watched.line.refusal())
        ticket.estimate = held.amount
        return ticket

    def _planned(
        self, *, org_id: str, key_id: str, user_id: str, charged_groups: Sequence[str], at: datetime
    ) -> tuple[Plan, list[Check]]:
        """The request's plan and the checks its reservation asks for: made once per key for each slot
        of `PLAN_SLOT_SECONDS`, and made again when any of its lines changed (`lines.owned`). A slot
        that holds the start of a day in the org's calendar is not kept: each request plans for itself."""
        book = self.book
        slot = int(at.timestamp()) // PLAN_SLOT_SECONDS
        if slot != self._slot or len(self._plans) > PLANS_KEPT:
            self._plans, self._slot = {}, slot
        owned = lines.owned(book, org_id=org_id, key_id=key_id, user_id=user_id, charged_groups=charged_groups)
        timezone = book.timezones.get(org_id)
        cache_key = (key_id, user_id, org_id, timezone or "", *charged_groups)
        kept = self._plans.get(cache_key)
        if kept is not None and kept.owned == owned:
            return kept.plan, kept.checks
        plan = lines.plan(book, org_id=org_id, key_id=key_id, user_id=user_id, charged_groups=charged_groups, at=at)
        checks = [Check(w.counter, w.line.amount) for w in plan.checks]
        start = datetime.fromtimestamp(slot * PLAN_SLOT_SECONDS, UTC)
        if lines.same_periods(start, start + timedelta(seconds=PLAN_SLOT_SECONDS - 1), zone(timezone)):
            self._plans[cache_key] = _Planned(owned=owned, plan=plan, checks=checks)
        return plan, checks

    def settle_later(self, ticket: Ticket, actual: int) -> None:
        """`settle` off the hot path: the answer does not wait for it. Until it lands the request's hold
        keeps its room taken, so a late settle never lets a line overspend; `drain` waits for them all."""
        if self._deferred is not None:
            self._deferred.append((ticket, actual))
            return
        task = asyncio.get_running_loop().create_task(self.settle(ticket, actual))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    def pause_settles(self) -> list[asyncio.Task[None]]:
        """Settles from now on wait for `resume_settles`; returns those already on their way. With the
        usage writer held at the same instant, the counters and the records then tell the same story."""
        self._deferred = []
        return list(self._settling)

    def resume_settles(self) -> None:
        deferred, self._deferred = self._deferred or [], None
        for ticket, actual in deferred:
            self.settle_later(ticket, actual)

    async def drain(self) -> None:
        """Until every settle started by `settle_later` has landed (or been counted as missed)."""
        while self._settling:
            await asyncio.gather(*self._settling)

    async def settle(self, ticket: Ticket, actual: int) -> None:
        """Turn the reservation into the real cost (0 for a failed call). Never raises: the usage record
        is the truth: a missed settle is counted, and the budgets runtime adds it from the records later."""
        if ticket.settled:
            return
        ticket.settled = True
        actual = ticket.actual = max(actual, 0)  # nothing an upstream reports gives room back
        counters = ticket.plan.counters
        try:
            totals = await self.store.settle(reservation=ticket.reservation, counters=counters, actual=actual)
        except CountersUnavailable as exc:
            ticket.missed = ticket.landed = True
            self.missed_settles += 1
            self.last_miss = time.monotonic()
            log.error(
                "settling %s on the budget counters failed (made good from the usage records once they answer): %s",
                ticket.reservation,
                exc,
            )
            return
        except BaseException:
            ticket.missed = ticket.landed = True
            raise
        ticket.generation = getattr(totals, "generation", None)
        ticket.landed = True
        if self.alerts is None or actual <= 0:
            return
        after = dict(zip(counters, totals, strict=True))
        for watched in ticket.plan.lines:
            total = after[watched.counter]
            for threshold in lines.crossed(watched.line, before=total - actual, after=total):
                self.alerts.crossed(
                    watched.line,
                    period_key=watched.period_key,
                    threshold=threshold,
                    spend=total,
                    user_id=ticket.user_id,
                )
        self.alerts.spent(org_id=ticket.org_id, user_id=ticket.user_id, charged_groups=ticket.charged_groups)

    def counter(self, org_id: str, scope: str, *, period: str = "month", at: datetime | None = None) -> str:
        tz = zone(self.book.timezones.get(org_id))
        return lines.counter_name(scope, period_key(period, at or self.clock(), tz))

    def period_spend(self, org_id: str, scopes: Sequence[tuple[str, str]]) -> list[int | None]:
        """Spend so far in the current period per (scope, period), for the management API's worker
        threads; None where the counters cannot be reached."""
        at = self.clock()
        try:
            return list(self.store.spent_sync([self.counter(org_id, s, period=p, at=at) for s, p in scopes]))
        except CountersUnavailable:
            return [None] * len(scopes)

    def month_spend(self, org_id: str, scopes: Sequence[str]) -> list[int]:
        """Month-to-date spend per scope (`group:<id>`, …); 0 where the counters cannot be reached."""
        return [v or 0 for v in self.period_spend(org_id, [(s, "month") for s in scopes])]
