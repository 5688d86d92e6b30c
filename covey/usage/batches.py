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
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

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
# A writer process that does not end within this long of its pipe closing is killed.
STOP_SECONDS = 10.0


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
    if isinstance(exc, Unreachable | Refused) and exc.args:  # described already, in the writer process
        return str(exc.args[0])
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    try:
        text = str(cause)
    except RecursionError:  # a message built from a deeply nested value
        text = ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    kind = type(exc).__name__
    if type(cause).__name__ != kind:
        kind += f" ({type(cause).__name__})"
    return f"{kind}: {first[:500]}" if first else kind


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

    def start(self) -> None:
        pass

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
    """Batches written by one writer process (`python -m covey.usage.writer_process`), started with the
    server (`start`: its start-up, a second of CPU, is over before requests come) or else with the first
    batch, and started again if it stops. It is a plain child process talking over two pipes, so
    it never runs the server's own main module, and it ends when the server does (its pipe closes).
    The calling thread only sends the batch and waits for the answer."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._child: _Child | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Starts the writer process now rather than with the first batch."""
        with self._lock:
            self._child = self._child or _Child.start(self.target)

    def __call__(self, records: Records, generation: Generation | None) -> str | None:
        with self._lock:
            child = self._child = self._child or _Child.start(self.target)
            try:
                # A batch that cannot be pickled (too deep) raises here, before anything is sent.
                child.down.send((list(records), generation is not None))
                done, answer = child.up.recv()
            except (OSError, EOFError) as exc:
                log.error("the usage writer process stopped; the next batch starts another")
                self._child = None
                child.stop()
                raise Unreachable("the usage writer process stopped") from exc
        if done:
            return cast("str | None", answer)
        raise cast(Exception, answer)

    @property
    def pid(self) -> int | None:
        """The writer process's pid, once it has started."""
        return self._child.process.pid if self._child is not None else None

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._child.stop()
                self._child = None


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    down: Connection  # batches to the writer process
    up: Connection  # its answers

    @classmethod
    def start(cls, target: Target) -> _Child:
        down_read, down_write = os.pipe()
        up_read, up_write = os.pipe()
        process = subprocess.Popen(
            [sys.executable, "-m", "covey.usage.writer_process", str(down_read), str(up_write)],
            pass_fds=(down_read, up_write),
            stdin=subprocess.DEVNULL,
        )
        os.close(down_read)
        os.close(up_write)
        child = cls(process, Connection(down_write, readable=False), Connection(up_read, writable=False))
        child.down.send(target)
        return child

    def stop(self) -> None:
        """Closing its pipe ends it; one that does not end is killed."""
        self.down.close()
        self.up.close()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---- in the writer process ----------------------------------------------------------------------------


def serve(down: Connection, up: Connection) -> None:
    """The writer process: its target, then batches until the server's pipe closes."""
    target: Target = down.recv()
    writer = _begin(target)
    while True:
        try:
            records, counted = down.recv()
        except EOFError:
            return
        try:
            written = write(writer.db, records, prices=writer.prices, generation=writer.generation if counted else None)
        except Exception as exc:  # noqa: BLE001 — sent back as one of the two errors the writer knows
            up.send((False, (Unreachable if unreachable(exc) else Refused)(describe(exc))))
        else:
            up.send((True, written))


@dataclass
class _Writer:
    db: Database
    prices: PriceLookup
    generation: Generation | None


def _begin(target: Target) -> _Writer:
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

    return _Writer(db=db, prices=target.prices.get, generation=generation)
