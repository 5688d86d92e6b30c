"""Usage records leave the hot path through an in-memory buffer; a background task writes them in
batches every `usage_flush_seconds`, and `stop` writes whatever is left (docs/design.md §6)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from covey.kit.db import Database
from covey.kit.ids import new_id
from covey.ops.metrics import Metrics
from covey.reports.rollups import apply_to_rollups
from covey.reports.savings import PriceLookup
from covey.usage import repository

log = logging.getLogger("covey.usage")


class UsageWriter:
    def __init__(
        self, db: Database, *, flush_seconds: float, metrics: Metrics, prices: PriceLookup | None = None
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.flush_seconds = flush_seconds
        # Prices of the catalog's models, for the cache savings the rollups keep.
        self.prices = prices
        self._records: list[dict[str, Any]] = []
        self._lock = asyncio.Lock()
        self.written = 0

    def add(self, record: dict[str, Any]) -> None:
        """Called on the hot path: appends, never waits. Ids and charge rows are made by the writer."""
        self._records.append(record)

    def _write(self, records: list[dict[str, Any]]) -> None:
        last_used: dict[str, datetime] = {}
        charges: list[dict[str, Any]] = []
        for r in records:
            if "id" not in r:
                r["id"] = new_id()
            last_used[r["key_id"]] = r["created_at"]
            charges.extend(
                {
                    "usage_id": r["id"],
                    "group_id": group_id,
                    "org_id": r["org_id"],
                    "created_at": r["created_at"],
                    "cost_nanos": r["cost_nanos"],
                    "depth": depth,
                }
                for depth, group_id in enumerate(r["charged_groups"])
            )
        with self.db.transaction() as session:
            repository.insert_batch(session, records, charges)
            # In the same transaction: a batch and its share of the rollups commit (or retry) together.
            apply_to_rollups(session, records, prices=self.prices)
            repository.stamp_last_used(session, last_used)
        self.metrics.records_written(records)

    async def flush(self) -> None:
        async with self._lock:
            if not self._records:
                return
            records = self._records
            self._records = []
            try:
                await asyncio.to_thread(self._write, records)
                self.written += len(records)
            except SQLAlchemyError as exc:
                # Keep them for the next flush rather than lose them.
                log.error("writing %d usage records failed, will retry: %s", len(records), exc)
                self.metrics.write_failed()
                self._records[:0] = records

    @property
    def pending(self) -> int:
        """Records waiting for the next flush."""
        return len(self._records)

    async def run(self, stop: asyncio.Event) -> None:
        """Flushes every interval until `stop` is set (never cancelled mid-write)."""
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.flush_seconds)
            except TimeoutError:
                await self.flush()
                continue
            return

    async def stop(self) -> None:
        await self.flush()
