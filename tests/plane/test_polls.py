"""The poll is the fallback: while a bus listens it looks for a missed change once a second, not every
`snapshot_poll_seconds`, and a change no bus told of (a revision moved by hand, with no notice on
either bus) is still found by it; without a bus it looks at every poll."""

from __future__ import annotations

import asyncio
import time

import pytest

from covey.config import Settings
from covey.kit.db import Database
from covey.plane import repository
from covey.plane.runtime import BUS_POLL_SECONDS, ControlPlane
from tests.conftest import BACKEND

CATALOG = frozenset({"mock/gpt-4o-mini"})
WATCHED = 1.5  # seconds the test counts the watcher's looks for
TIMEOUT = 10.0


async def looks(plane: ControlPlane) -> int:
    before = plane.stats.checks
    await asyncio.sleep(WATCHED)
    return plane.stats.checks - before


def moved_by_hand(database_url: str) -> int:
    """The revision moved in a process of its own kind: no commit hook, no notice on any bus."""
    other = Database.connect(database_url)
    try:
        with other.transaction() as session:
            return repository.bump_revision(session)
    finally:
        other.dispose()


def test_while_a_bus_listens_the_poll_looks_once_a_second(
    settings: Settings, db: Database, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    assert settings.snapshot_poll_seconds < BUS_POLL_SECONDS / 10

    async def main() -> int:
        listening = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})
        plane = await ControlPlane.start(listening, db, catalog=CATALOG)
        try:
            started = time.monotonic()
            while not all(bus.subscribed.is_set() for bus in plane.buses):
                assert time.monotonic() - started < TIMEOUT, "the buses never listened"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # the look each bus asks for once it listens
            looked = await looks(plane)
            revision = await asyncio.to_thread(moved_by_hand, database_url)
            while plane.current.revision < revision:
                assert time.monotonic() - started < TIMEOUT, "the poll never found the change"
                await asyncio.sleep(0.01)
            return looked
        finally:
            await plane.stop()

    looked = asyncio.run(main())
    assert 1 <= looked <= WATCHED / BUS_POLL_SECONDS + 1, looked


@pytest.mark.skipif(BACKEND == "postgresql", reason="on PostgreSQL its LISTEN/NOTIFY bus always listens")
def test_without_a_bus_the_poll_looks_every_interval(settings: Settings, db: Database) -> None:
    async def main() -> int:
        plane = await ControlPlane.start(settings, db, catalog=CATALOG)
        try:
            return await looks(plane)
        finally:
            await plane.stop()

    assert asyncio.run(main()) >= WATCHED / settings.snapshot_poll_seconds / 3
