"""Dropping old usage records while the rollups stay: reports of old months still answer from the
rollups; only hour resolution and `extra.<field>` grouping, which read raw records, stop reaching back.
Stored responses (`previous_response_id`) are kept as long as usage records."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.reports import repository
from covey.response_store import store as response_store

BATCH = 10_000
EVERY_SECONDS = 3600.0

log = logging.getLogger("covey.reports")


def cutoff(retention_days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=retention_days)


def prune_usage(db: Database, *, older_than: datetime, org_id: str | None = None, batch: int = BATCH) -> int:
    """Delete usage records (and their charges) created before `older_than`, one short transaction per
    batch so the gateway's writer is never blocked for long. Returns how many were deleted."""
    deleted = 0
    while True:
        with db.transaction() as session:
            n = repository.delete_raw_before(session, org_id=org_id, before=older_than, batch=batch)
        deleted += n
        if n < batch:
            return deleted


async def run(db: Database, *, days: int, stop: asyncio.Event, every_seconds: float = EVERY_SECONDS) -> None:
    """Prune at start and then every `every_seconds` until `stop` is set (never cancelled mid-batch).
    Several processes may run this at once: a record is deleted by whichever gets there first."""
    while True:
        try:
            deleted = await asyncio.to_thread(prune_usage, db, older_than=cutoff(days))
            if deleted:
                log.info("deleted %d usage records older than %d days", deleted, days)
            forgotten = await asyncio.to_thread(response_store.prune, db, older_than=cutoff(days))
            if forgotten:
                log.info("deleted %d stored responses older than %d days", forgotten, days)
        except SQLAlchemyError as exc:
            log.error("pruning usage records failed, will retry: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), every_seconds)
        except TimeoutError:
            continue
        return
