"""Everything budgets hold for the life of a process: the counter store (in process, or Redis when
`COVEY_REDIS_URL` is set), the guard the gateway calls, and the alert dispatcher. The guard's book of
lines is loaded once here (to seed the counters); from then on the control plane (`covey.plane`)
keeps it. The app's lifespan starts and stops it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from covey.alerts.dispatcher import Dispatcher
from covey.budgets import cut, ledger, repository
from covey.budgets.counters import CounterStore, CountersUnavailable, MemoryCounters
from covey.budgets.guard import Guard
from covey.budgets.lines import Book, make_book
from covey.budgets.redis_counters import RedisCounters
from covey.config import Settings
from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.plane.repository import current_revision
from covey.usage.writer import UsageWriter

log = logging.getLogger("covey.budgets")


def make_store(settings: Settings) -> CounterStore:
    if settings.redis_url:
        return RedisCounters(
            settings.redis_url, prefix=settings.redis_prefix, max_connections=settings.redis_max_connections
        )
    return MemoryCounters()


def load_book(db: Database) -> Book:
    with db.sessions() as session:
        revision = current_revision(session)
        return make_book(repository.all_lines(session), timezones=repository.timezones(session), revision=revision)


class BudgetsRuntime:
    def __init__(self, *, db: Database, settings: Settings, guard: Guard, dispatcher: Dispatcher) -> None:
        self.db = db
        self.settings = settings
        self.guard = guard
        self.dispatcher = dispatcher
        self.tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._keeping = asyncio.Lock()
        # The usage writer's `hold`: records this process has not written yet, and no flush meanwhile.
        self.unwritten: Callable[[], AbstractAsyncContextManager[list[dict[str, Any]]]] | None = None
        # The counters' generation at the last look (`covey.budgets.cut`).
        self._generation: str | None = None

    @property
    def store(self) -> CounterStore:
        return self.guard.store

    @classmethod
    async def start(cls, settings: Settings, db: Database, *, clock: Callable[[], datetime] = utcnow) -> BudgetsRuntime:
        store = make_store(settings)
        dispatcher = Dispatcher(db=db, settings=settings, clock=clock)
        guard = Guard(store=store, hold_seconds=settings.budget_reservation_seconds, clock=clock, alerts=dispatcher)
        runtime = cls(db=db, settings=settings, guard=guard, dispatcher=dispatcher)
        guard.book = await asyncio.to_thread(load_book, db)
        try:
            await runtime.seed()
        except CountersUnavailable as exc:
            # Serve anyway: /readyz reports it and hard budgets fail closed until Redis is back.
            log.error("budget counters unavailable at start: %s", exc)
        runtime.tasks = [
            asyncio.create_task(runtime.watch(settings.snapshot_poll_seconds), name="covey-budget-counters"),
            asyncio.create_task(dispatcher.run(), name="covey-alerts"),
        ]
        return runtime

    def follow_ledger(self, writer: UsageWriter) -> None:
        """The usage writer whose unwritten records count when missed settles are made good (see
        `_refill`), and which tells Redis counters what it writes after a cut (`covey.budgets.cut`)."""
        self.unwritten = writer.hold
        if isinstance(self.store, RedisCounters):
            writer.counting = cut.Counting(self.store)

    async def seed(self) -> None:
        """Counters that do not exist yet start from the usage records of their period, so the in-process
        store survives a restart, and a Redis without counters (new, or that lost its data) gets a
        generation made from the recorded spend."""
        if not await self.store.intact():
            await self._cut()
        book, at = self.guard.book, self.guard.clock()

        def expected() -> dict[str, int]:
            with self.db.sessions() as session:
                return ledger.expected_counters(session, book=book, at=at, org_ids=repository.org_ids(session))

        await self.store.seed(await asyncio.to_thread(expected))

    async def watch(self, poll_seconds: float) -> None:
        """Until stopped; never cancelled in the middle of a query, so no connection is left behind."""
        while not await _wait(self._stop, poll_seconds):
            try:
                await self.keep_counters()
            except Exception:  # logged in full; the loop goes on, so the counters are made good later
                log.exception("making the budget counters good from the usage records failed; will retry")

    async def keep_counters(self) -> None:
        """After an outage of the counter store, make its counters good from the usage records: when it
        came back without its data, a new generation (`covey.budgets.cut`); when settles could not reach
        it, counters raised to the records once those have had time to land (only raised: a request in
        flight may have settled before its record is written)."""
        async with self._keeping:
            await self._keep_counters()

    async def _keep_counters(self) -> None:
        guard, store = self.guard, self.store
        missed = guard.missed_settles
        try:
            generation = await store.generation() if isinstance(store, RedisCounters) else "in process"
        except CountersUnavailable:
            return  # still away
        lost = generation is None
        if not lost and generation != self._generation:
            if self._generation is not None:
                # A new generation: the settles the cut wiped come back as their records are written
                # (`covey.budgets.cut`); missed settles are raised to the records only after those.
                guard.last_miss = time.monotonic()
            self._generation = generation
        if lost:
            try:
                made = await self._cut()
            except CountersUnavailable:
                return
            if made:
                log.warning("budget counters made again from the usage records: the store had lost its data")
            return
        if not (missed and time.monotonic() - guard.last_miss >= self._landing_seconds):
            return
        try:
            raised = await self._refill()
        except CountersUnavailable:
            return
        guard.missed_settles -= missed
        guard.last_miss = time.monotonic()
        if raised:
            log.warning(
                "budget counters made good from the usage records (%d settles missed): %d raised", missed, raised
            )

    async def _cut(self) -> bool:
        """A new generation of Redis counters from the usage records, unless another process made it."""
        store = self.store
        if not isinstance(store, RedisCounters):
            return False
        return await asyncio.to_thread(cut.make, self.db, store, book=self.guard.book, at=self.guard.clock())

    async def _refill(self) -> int:
        """Raise counters to the usage records, written and not yet written, taken at one instant: the
        writer is held (no flush), settles on their way land first and new ones wait, so every request
        counts once — on the counters already, or in the records — and none is lost to the refill."""
        guard, book, at = self.guard, self.guard.book, self.guard.clock()

        def expected() -> dict[str, int]:
            with self.db.sessions() as session:
                return ledger.expected_counters(session, book=book, at=at, org_ids=repository.org_ids(session))

        hold = self.unwritten or _nothing_unwritten
        async with hold() as unwritten:
            on_their_way = guard.pause_settles()  # at the same instant as `unwritten` was taken
            try:
                await asyncio.gather(*on_their_way)
                values = ledger.add_unwritten(await asyncio.to_thread(expected), unwritten, book=book, at=at)
                return await self.store.raise_to(values)
            finally:
                guard.resume_settles()

    @property
    def _landing_seconds(self) -> float:
        """How long a request's usage record may take to reach the database (flushes, with room)."""
        return 2 * self.settings.usage_flush_seconds + 1.0

    def readiness(self) -> str:
        """For `/readyz` (a worker thread): without its counters the gateway refuses hard-budget requests."""
        try:
            self.store.ping_sync()
        except CountersUnavailable as exc:
            return f"error: {self.store.kind} budget counters unreachable, hard budgets fail closed ({exc})"
        return "ok"

    async def stop(self) -> None:
        self._stop.set()
        await self.guard.drain()  # the last requests' settles, before the store closes
        await self.dispatcher.stop()
        await asyncio.gather(*self.tasks)
        await self.guard.drain()  # settles a last refill held back
        await self.store.close()


@contextlib.asynccontextmanager
async def _nothing_unwritten() -> Any:
    yield []


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Sleeps `seconds` or until the event is set; returns whether it is set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
