"""Dropping old usage records while the rollups stay: reports of old months still answer from the
rollups; only hour resolution and `extra.<field>` grouping, which read raw records, stop reaching back."""

from __future__ import annotations

from datetime import datetime, timedelta

from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.reports import repository

BATCH = 10_000


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
