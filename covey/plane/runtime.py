"""The one owner of this process's compiled control plane: one revision, one compiler, one watcher.

- Start-up (and repair) compiles everything, off the event loop, and swaps it in whole.
- A commit made in this process is in force before the call that made it returns: the session hook
  catches the plane up in the committing thread, right after the commit.
- Commits elsewhere arrive by the buses (Redis, PostgreSQL), or at the next poll when they are away;
  while one listens, the poll only looks for a change it missed, once a second.
- Catching up reads the journal since the plane's revision and recompiles only what it touched; a
  gap in the journal (pruned, or written by an older Covey) or a change it cannot name rebuilds.
The budget book is installed into the guard before grants, so a key never meets an older book."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from covey.budgets.guard import Guard
from covey.config import Settings
from covey.kit import collector
from covey.kit.db import Database
from covey.plane import journal, repository
from covey.plane.bus import Bus, PostgresBus, RedisBus
from covey.plane.journal import Touched
from covey.plane.state import Plane

log = logging.getLogger("covey.plane")
# Journal rows kept behind the newest: a process further behind than this rebuilds.
KEEP_CHANGES = 10_000
_PRUNE_EVERY_SECONDS = 60.0
# While a bus listens, the poll looks for a change it missed this often (a commit made while the bus
# was away is read when it listens again).
BUS_POLL_SECONDS = 1.0


def _pause() -> None:
    """Between two slices of a large compile: long enough for the serving thread to take the GIL."""
    time.sleep(0.0002)


@dataclass
class PlaneStats:
    changes: int = 0  # catch-ups that applied journal rows
    rebuilds: int = 0
    recompiled: int = 0  # grants compiled by catch-ups
    last_seconds: float = 0.0  # how long the last catch-up or rebuild took
    checks: int = 0  # times the watcher read the revision (woken, or at its poll)


class ControlPlane:
    def __init__(self, db: Database, *, catalog: Iterable[str], settings: Settings, guard: Guard | None) -> None:
        self.db = db
        self.catalog = frozenset(catalog)
        self.settings = settings
        self.guard = guard
        self.current = Plane(catalog=self.catalog)
        self.stats = PlaneStats()
        self.buses: list[Bus] = []
        if settings.redis_url:
            self.buses.append(RedisBus(settings.redis_url, prefix=settings.redis_prefix))
        if db.engine.dialect.name == "postgresql":
            self.buses.append(PostgresBus(db.engine, channel=journal.CHANNEL))
        self._lock = threading.Lock()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def start(
        cls, settings: Settings, db: Database, *, catalog: Iterable[str], guard: Guard | None = None
    ) -> ControlPlane:
        plane = cls(db, catalog=catalog, settings=settings, guard=guard)
        await asyncio.to_thread(plane.rebuild)
        plane._loop = asyncio.get_running_loop()
        event.listen(db.sessions, "after_commit", plane._committed)
        plane._tasks = [asyncio.create_task(plane.watch(), name="covey-plane")]
        plane._tasks += [
            asyncio.create_task(bus.listen(plane.wake), name=f"covey-plane-{bus.name}") for bus in plane.buses
        ]
        return plane

    # ---- keeping up -----------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Compile everything anew and swap it in whole (start-up and repair)."""
        with self._lock, self.db.sessions() as session:
            self._rebuild(session)

    def _rebuild(self, session: Session) -> None:
        started = time.perf_counter()
        revision = repository.current_revision(session)
        # Hundreds of thousands of long-lived objects: the collector would walk the growing plane again
        # and again while it is built (a quarter of the build's CPU at 100,000 people), then every full
        # pass would walk it while requests wait (~0.3 s at that size). So it is built with the collector
        # paused, and frozen once in force: the collector leaves it alone; refcounting still frees it.
        with collector.paused():
            rows = repository.everything(session)
            built = Plane.build(rows, catalog=self.catalog, revision=revision, pause=_pause)
        if self.guard is not None:
            self.guard.book = built.book
        self.current = built
        del rows
        gc.freeze()
        self.stats.rebuilds += 1
        self.stats.last_seconds = time.perf_counter() - started

    def catch_up(self) -> bool:
        """Apply what was committed since the plane's revision (any thread); whether anything was."""
        with self._lock:
            plane = self.current
            started = time.perf_counter()
            with self.db.sessions() as session:
                revision = repository.current_revision(session)
                if revision == plane.revision:
                    return False
                changes = repository.changes_since(session, plane.revision) if revision > plane.revision else []
                touched = Touched()
                for _revision, data in changes:
                    touched.merge(Touched.of(data))
                if touched.everything or not _unbroken(changes, since=plane.revision, through=revision):
                    log.info("control plane rebuilt in full at revision %d (was %d)", revision, plane.revision)
                    self._rebuild(session)
                    return True
                rows = repository.rows_for(
                    session,
                    orgs=touched.orgs,
                    lists=touched.lists,
                    groups=touched.groups,
                    users=touched.users,
                    keys=touched.keys,
                    policies=touched.policies,
                    owners=_owners(touched),
                )
            applied = plane.apply(rows, revision=changes[-1][0], pause=_pause)
            self.stats.changes += 1
            self.stats.recompiled += applied.recompiled
            self.stats.last_seconds = time.perf_counter() - started
            return True

    def _committed(self, session: Session) -> None:
        """Right after a commit in this process: announce it, and have it in force before returning."""
        revision = session.info.pop(journal.COMMITTED, None)
        if revision is None:
            return
        for bus in self.buses:
            bus.publish(revision)
        if self.current.revision >= revision:
            return
        try:
            self.catch_up()
        except SQLAlchemyError as exc:  # committed all the same: the watcher applies it once it can read
            log.warning("applying control-plane revision %d after its commit failed: %s", revision, exc)

    def wake(self) -> None:
        """A bus heard of a commit (called on the event loop)."""
        self._wake.set()

    async def watch(self) -> None:
        """Until stopped: catch up when woken, or at each poll; never cancelled mid-query. While a bus
        listens it tells of every change, and the poll only looks for one it missed, once a second
        (`BUS_POLL_SECONDS`); without one, every `snapshot_poll_seconds`."""
        pruned = time.monotonic()
        while not self._stop.is_set():
            poll = self.settings.snapshot_poll_seconds
            if any(bus.subscribed.is_set() for bus in self.buses):
                poll = max(poll, BUS_POLL_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.stats.checks += 1
                await asyncio.to_thread(self.catch_up)
                if time.monotonic() - pruned > _PRUNE_EVERY_SECONDS:
                    pruned = time.monotonic()
                    await asyncio.to_thread(self._prune)
            except SQLAlchemyError as exc:  # the database went away for a moment: keep serving the last plane
                log.warning("control-plane refresh failed: %s", exc)

    def _prune(self) -> None:
        with self.db.transaction() as session:
            repository.prune_changes(session, below=self.current.revision - KEEP_CHANGES)

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        event.remove(self.db.sessions, "after_commit", self._committed)
        watcher, *listeners = self._tasks
        for task in listeners:
            task.cancel()  # they wait on sockets only, never on the database
        for task in listeners:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await watcher
        for bus in self.buses:
            await bus.close()


@contextmanager
def announcing(db: Database, settings: Settings) -> Iterator[None]:
    """For a process that changes the control plane without serving it (the command line): its
    commits are announced over Redis too. (PostgreSQL's NOTIFY goes out with every commit anyway.)"""
    if not settings.redis_url:
        yield
        return
    bus = RedisBus(settings.redis_url, prefix=settings.redis_prefix)

    def committed(session: Session) -> None:
        revision = session.info.pop(journal.COMMITTED, None)
        if revision is not None:
            bus.publish(revision)

    event.listen(db.sessions, "after_commit", committed)
    try:
        yield
    finally:
        event.remove(db.sessions, "after_commit", committed)
        bus.close_publisher()


def _unbroken(changes: Sequence[tuple[int, object]], *, since: int, through: int) -> bool:
    """Every revision after `since` up to `through` has its journal row."""
    revisions = [r for r, _ in changes]
    return (
        bool(revisions) and revisions == list(range(since + 1, since + 1 + len(revisions))) and revisions[-1] >= through
    )


def _owners(touched: Touched) -> set[tuple[str, str]]:
    """Whose budget lines a change may have moved: the touched rows' own (Requesty's columns) and
    the table lines named."""
    owners = set(touched.owners)
    owners |= {("key", k) for k in touched.keys}
    owners |= {("user", u) for u in touched.users}
    owners |= {("group", g) for g in touched.groups} | {("member", g) for g in touched.groups}
    owners |= {("org", o) for o in touched.orgs}
    return owners
