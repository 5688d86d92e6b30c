"""Writing one batch of usage records, and where that work runs.

A batch is its rows, their share of the rollups, the keys' last use and the guardrail events, in one
transaction (`write`). The usage writer (`covey.usage.writer`) runs it either in a thread of the serving
process (`InThread`) or in a writer process of its own (`InProcess`, `usage_writer_process`), so that
the serving process spends no interpreter time on the ledger: the rows travel to the writer process as
one pickled list, and only the outcome comes back (docs/design.md §6).

Whatever goes wrong in the writer process comes back as one of two errors the writer knows:
`Unreachable` (the database did not answer, or the writer process stopped: keep the records, try
again) or `Refused` (the database refused something in the batch: find the record)."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from covey.audit import service as audit
from covey.budgets.redis_counters import generation_key
from covey.guardrails.events import guardrail_event
from covey.kit.db import Database
from covey.pricing.prices import UnitPrices
from covey.reports.rollups import record_usage
from covey.reports.savings import PriceLookup
from covey.usage import repository

log = logging.getLogger("covey.usage")
Records = Sequence[dict[str, Any]]
Generation = Callable[[], str | None]


class Unreachable(Exception):
    """The database did not answer, or the writer process stopped: the records are fine."""


class Refused(Exception):
    """The database refused the batch (one of its records); the message is the driver's."""


def unreachable(exc: BaseException) -> bool:
    """The database did not answer (or the connection broke): the records are fine, try again later."""
    if isinstance(exc, Unreachable | OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def describe(exc: BaseException) -> str:
    """One bounded line for the log and the quarantine: the driver's message, never the parameters (a
    record can hold anything; SQLAlchemy's message repeats it)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    try:
        text = str(cause)
    except RecursionError:  # a message built from a deeply nested value
        text = ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(cause).__name__}: {first[:300]}" if first else type(cause).__name__


def write(db: Database, records: Records, *, prices: PriceLookup | None, generation: Generation | None) -> str | None:
    """The batch in one transaction; returns the budget counters' generation read inside it, after
    the rows (a cut of the counters is before this write or after it: `covey.budgets.cut`)."""
    last_used = {r["key_id"]: r["created_at"] for r in records}
    with db.transaction() as session:
        record_usage(session, records, prices=prices)
        repository.stamp_last_used(session, last_used)
        audit.observed(session, [guardrail_event(r) for r in records if r.get("guardrails")])
        return generation() if generation is not None else None


class InThread:
    """Batches written by the calling (worker) thread, on the serving process's own database pool."""

    def __init__(self, db: Database, prices: PriceLookup | None) -> None:
        self.db = db
        self.prices = prices

    def __call__(self, records: Records, generation: Generation | None) -> str | None:
        return write(self.db, records, prices=self.prices, generation=generation)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Target:
    """What the writer process needs to write batches: where, at which prices, and where the budget
    counters' generation is read when Redis keeps them."""

    database_url: str
    prices: Mapping[str, UnitPrices | None]
    redis_url: str | None = None
    redis_prefix: str = "covey"


class InProcess:
    """Batches written by one writer process, started with the serving process's first batch (spawned,
    never forked: the serving process has threads) and started again if it stops. The calling thread
    only waits for its answer."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_begin,
            initargs=(self.target,),
        )

    def __call__(self, records: Records, generation: Generation | None) -> str | None:
        try:
            return self._pool.submit(_write, list(records), generation is not None).result()
        except BrokenProcessPool as exc:
            log.error("the usage writer process stopped; starting another")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            raise Unreachable("the usage writer process stopped") from exc

    @property
    def pid(self) -> int | None:
        """The writer process's pid, once it has started."""
        processes = list(self._pool._processes or {})  # the executor's own table of its processes
        return processes[0] if processes else None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# ---- in the writer process ----------------------------------------------------------------------------


@dataclass
class _Writer:
    db: Database
    prices: PriceLookup
    generation: Generation | None


# The writer process's one writer, made by the pool's initializer: a process has no lifespan to hold it.
_writer: _Writer | None = None


def _begin(target: Target) -> None:
    global _writer
    db = Database.connect(target.database_url, pool_size=1, max_overflow=1)
    generation: Generation | None = None
    if target.redis_url:
        client = redis.Redis.from_url(target.redis_url, socket_timeout=2, socket_connect_timeout=2)
        key = generation_key(target.redis_prefix)

        def generation() -> str | None:
            try:
                value = client.get(key)
            except redis.RedisError:  # as `Counting.generation`: unknown, the catch-up waits for a cut
                return None
            return value.decode() if isinstance(value, bytes) else None

    _writer = _Writer(db=db, prices=target.prices.get, generation=generation)


def _write(records: Records, counted: bool) -> str | None:
    assert _writer is not None, "the writer process was not started by InProcess"
    try:
        return write(_writer.db, records, prices=_writer.prices, generation=_writer.generation if counted else None)
    except Exception as exc:  # noqa: BLE001 — sent back as one of the two errors the writer knows
        raise (Unreachable if unreachable(exc) else Refused)(describe(exc)) from None
