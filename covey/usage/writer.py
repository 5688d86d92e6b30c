"""Usage records leave the hot path through an in-memory buffer; a background task writes them in
batches every `usage_flush_seconds`, and `stop` writes whatever is left (docs/design.md §6).

The writer never stops: a batch the database refuses is split until the records it refuses stand
alone, and those go to the quarantine (`usage_quarantine`, with the reason) so the rest land. Only a
database that does not answer keeps records waiting, in order, for the next flush.

A record added with its budget charge is written once that charge has settled on the counters, and the
counters are told which generation each write saw (`Counting`, kept by `covey.budgets.cut`).

Where a batch is written is `covey.usage.batches`: a worker thread here, or a writer process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import orjson

from covey.kit.db import Database
from covey.kit.ids import new_id
from covey.ops.metrics import Metrics
from covey.reports.savings import PriceLookup
from covey.usage import bounds, repository
from covey.usage.batches import InProcess, InThread, describe, unreachable

log = logging.getLogger("covey.usage")
# A record the database keeps failing without a reason it will say (it answers, but not for this record)
# is quarantined after this many flushes.
MAX_TRIES = 3
# A graceful stop keeps trying a database that does not answer for this long before giving up.
STOP_SECONDS = 10.0
# A record whose charge has not settled after this many flushes is written anyway.
SETTLE_FLUSHES = 20


class Charge(Protocol):
    """A record's budget charge (`covey.budgets.guard.Ticket`)."""

    @property
    def landed(self) -> bool:
        """Its settle has been answered, or failed."""
        ...


class Counting(Protocol):
    """The budget counters' side of a write (`covey.budgets.cut.Counting`), called in the worker thread."""

    def generation(self) -> str | None:
        """Read inside the transaction that writes records, after them."""
        ...

    def catch_up(self, charges: Sequence[Charge], generation: str | None) -> None:
        """Once those records are committed, with the charges they were added with."""
        ...


def _as_json(record: dict[str, Any]) -> str:
    try:
        return orjson.dumps(record, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):  # too deep or not serializable: keep what can be kept
        return orjson.dumps({k: v for k, v in record.items() if isinstance(v, str | int | float | None)}).decode()


class UsageWriter:
    def __init__(
        self,
        db: Database,
        *,
        flush_seconds: float,
        metrics: Metrics,
        prices: PriceLookup | None = None,
        behind_seconds: float = 10.0,
        batches: InThread | InProcess | None = None,
    ) -> None:
        self.db = db
        # Where each batch is written: a thread of this process, or the writer process.
        self.batches = batches or InThread(db, prices)
        self.metrics = metrics
        self.flush_seconds = flush_seconds
        self.behind_seconds = behind_seconds
        self._records: list[dict[str, Any]] = []
        # Charges of records not yet written, by the record's identity, and the flushes each has waited.
        self._charges: dict[int, Charge] = {}
        self._waited: dict[int, int] = {}
        self.counting: Counting | None = None
        self._lock = asyncio.Lock()
        self._tries: dict[str, int] = {}
        self._failing = False
        self.written = 0
        self.quarantined = 0
        # When the buffer was last written out (monotonic seconds): `/readyz` says when that is long ago.
        self.last_drained = time.monotonic()

    def add(self, record: dict[str, Any], charge: Charge | None = None) -> None:
        """Called on the hot path: appends, never waits. Ids and charge rows are made by the writer; a
        record with a budget `charge` is written once the charge has settled."""
        self._records.append(record)
        if charge is not None:
            self._charges[id(record)] = charge

    # ---- a worker thread ------------------------------------------------------------------------------

    def _insert(self, records: list[dict[str, Any]]) -> None:
        counting = self.counting
        generation = self.batches(records, counting.generation if counting is not None else None)
        if counting is None:
            return
        charges = [c for c in (self._charges.get(id(r)) for r in records) if c is not None]
        try:
            counting.catch_up(charges, generation)
        except Exception:  # the records are written: nothing here may make them look unwritten
            log.exception("telling the budget counters about %d written records failed", len(records))

    def _quarantine(self, refused: list[tuple[dict[str, Any], str]]) -> None:
        with self.db.transaction() as session:
            for record, reason in refused:
                org_id = record.get("org_id")
                repository.quarantine(
                    session, org_id=org_id if isinstance(org_id, str) else None, reason=reason, record=_as_json(record)
                )
        for record, reason in refused:
            log.error("usage record %s quarantined: %s", record.get("id"), reason)

    def _write(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        """Writes what it can: (written, quarantined count, kept for the next flush). Raises only when
        nothing was written, so a retry never writes a record twice."""
        fitted: list[dict[str, Any]] = []
        unfit: list[tuple[dict[str, Any], str]] = []
        for r in records:
            if "id" not in r:
                r["id"] = new_id()
            try:
                bounds.fit(r)
            except (TypeError, ValueError, OverflowError) as exc:  # not even a number where one belongs
                unfit.append((r, f"unfit record: {describe(exc)}"))
                continue
            fitted.append(r)
        try:
            self._insert(fitted)
            written = fitted
        except Exception as exc:  # any refusal: find the records refused
            if unreachable(exc):
                raise
            written, refused, kept = self._bisect(fitted)
            unfit += refused
            if kept:
                return written, 0, kept + [r for r, _ in unfit]
        if not unfit:
            return written, 0, []
        try:
            self._quarantine(unfit)
        except Exception as exc:  # noqa: BLE001 — the quarantine did not answer either: keep them
            log.error("quarantining %d usage records failed, will retry: %s", len(unfit), describe(exc))
            return written, 0, [r for r, _ in unfit]
        return written, len(unfit), []

    def _bisect(
        self, records: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]], list[dict[str, Any]]]:
        """A refused batch in halves until each refused record stands alone (a few transactions for one
        bad record among thousands): (written, refused with their reason, kept because the database
        stopped answering)."""
        written: list[dict[str, Any]] = []
        refused: list[tuple[dict[str, Any], str]] = []
        work = [records[len(records) // 2 :], records[: len(records) // 2]]
        while work:
            part = work.pop()
            if not part:
                continue
            try:
                self._insert(part)
            except Exception as exc:  # noqa: BLE001 — narrowed down below, to the record refused
                if unreachable(exc):
                    first = part[0]
                    tries = self._tries[first["id"]] = self._tries.get(first["id"], 0) + 1
                    if len(part) > 1 or tries < MAX_TRIES:
                        return written, refused, part + [r for p in reversed(work) for r in p]
                if len(part) == 1:
                    self._tries.pop(part[0]["id"], None)
                    refused.append((part[0], describe(exc)))
                else:
                    work += [part[len(part) // 2 :], part[: len(part) // 2]]
                continue
            written += part
        return written, refused, []

    # ---- the event loop -------------------------------------------------------------------------------

    def _take(self, *, everything: bool) -> list[dict[str, Any]]:
        """The records to write now: all but those whose charge is still settling (kept, in order)."""
        if everything or not self._charges:
            records, self._records = self._records, []
            return records
        ready: list[dict[str, Any]] = []
        settling: list[dict[str, Any]] = []
        for r in self._records:
            charge = self._charges.get(id(r))
            if charge is None or charge.landed:
                ready.append(r)
                continue
            waited = self._waited[id(r)] = self._waited.get(id(r), 0) + 1
            (ready if waited >= SETTLE_FLUSHES else settling).append(r)
        self._records = settling
        return ready

    def _forget(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            self._charges.pop(id(r), None)
            self._waited.pop(id(r), None)

    async def flush(self, *, everything: bool = False) -> None:
        async with self._lock:
            if not self._records:
                self.last_drained = time.monotonic()
                return
            records = self._take(everything=everything)
            if not records:
                return
            try:
                written, quarantined, kept = await asyncio.to_thread(self._write, records)
            except Exception as exc:  # noqa: BLE001 — the database did not answer (or worse): keep them all
                self._records[:0] = records
                self.metrics.write_failed()
                if not self._failing:  # once per outage, not once per flush
                    log.error("writing %d usage records failed, will retry: %s", len(records), describe(exc))
                self._failing = True
                return
            if self._failing:
                log.warning("usage records are being written again")
                self._failing = False
            self._records[:0] = kept
            kept_ids = {id(r) for r in kept}
            self._forget([r for r in records if id(r) not in kept_ids])
            if kept:
                self.metrics.write_failed()
            for r in written:
                self._tries.pop(r["id"], None)
            self.written += len(written)
            self.quarantined += quarantined
            self.metrics.records_written(written)
            if quarantined:
                self.metrics.records_quarantined(quarantined)
            if not kept:
                self.last_drained = time.monotonic()

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[list[dict[str, Any]]]:
        """No flush while held; yields the records not yet written (taken as the hold begins, with no
        pause in between, so a caller can take other figures at the same instant)."""
        async with self._lock:
            yield list(self._records)

    @property
    def pending(self) -> int:
        """Records waiting for the next flush."""
        return len(self._records)

    def readiness(self) -> str:
        """For `/readyz`: records waiting longer than `behind_seconds` mean the ledger is not keeping up."""
        waited = time.monotonic() - self.last_drained
        if self._records and waited > self.behind_seconds:
            return f"behind: {len(self._records)} usage records waiting, last written out {waited:.0f} s ago"
        return "ok"

    async def run(self, stop: asyncio.Event) -> None:
        """Flushes every interval until `stop` is set (never cancelled mid-write). Nothing a flush meets
        ends the loop: it is logged, counted, and the next interval tries again."""
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.flush_seconds)
            except TimeoutError:
                try:
                    await self.flush()
                except Exception:  # a bug here must not stop metering: it is logged in full
                    log.exception("the usage writer's flush failed")
                    self.metrics.write_failed()
                continue
            return

    async def stop(self) -> None:
        """Writes everything left, retrying a database that does not answer for up to `STOP_SECONDS`,
        then stops the writer process if there is one."""
        try:
            await self._drain()
        finally:
            await asyncio.to_thread(self.batches.close)

    async def _drain(self) -> None:
        deadline = time.monotonic() + STOP_SECONDS
        while True:
            await self.flush(everything=True)
            if not self._records:
                return
            if time.monotonic() > deadline:
                log.error("stopping with %d usage records unwritten: the database did not answer", self.pending)
                return
            await asyncio.sleep(min(0.5, self.flush_seconds))
