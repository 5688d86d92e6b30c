"""Budget counters made again after Redis lost its data, exact with any number of replicas under load
(docs/design.md §6).

The counters come in generations, named by the mark in Redis. When the mark is gone (Redis restarted
without its data), the first replica to notice makes a new generation, the *cut*: in one database
transaction that no usage record is written during (`repository.lock_usage`), it reads the usage
records' totals and sets the counters to them in one script, with the new mark. Every record
committed before the cut is in those totals; what settled in the emptied Redis meanwhile is replaced.

A record committed after the cut was not counted by it: its settle must have landed in the new
generation. Each usage writer waits for a record's settle before writing it, reads the mark inside the
transaction that writes it (after its rows, so the cut is before or after that transaction, never in
between), and afterwards adds again the settles of that generation's records that landed before it
(`Counting.catch_up`), only while that generation still stands. So each request counts once —
from the records, or from its settle — however many replicas write. A settle that could not reach
Redis at all is made good by the runtime's refill, as before.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from covey.budgets import ledger, repository
from covey.budgets.counters import CountersUnavailable
from covey.budgets.guard import Ticket
from covey.budgets.lines import Book
from covey.budgets.redis_counters import RedisCounters
from covey.kit.db import Database
from covey.usage.writer import Charge

log = logging.getLogger("covey.budgets")


def make(db: Database, store: RedisCounters, *, book: Book, at: datetime) -> bool:
    """A new generation of counters from the usage records, unless one exists (a worker thread);
    whether this call made it."""
    generation = secrets.token_hex(8)
    with db.transaction() as session:
        repository.lock_usage(session)
        values = ledger.expected_counters(session, book=book, at=at, org_ids=repository.org_ids(session))
        return store.cut_sync(values, generation)  # before the commit: no record lands in between


class Counting:
    """What the usage writer asks of the counters, from its worker thread."""

    def __init__(self, store: RedisCounters) -> None:
        self.store = store
        self._owed: list[tuple[dict[str, int], str]] = []  # catch-ups Redis did not take yet

    def generation(self) -> str | None:
        """The generation now, read in the transaction that writes records; None when unknown."""
        try:
            return self.store.generation_sync()
        except CountersUnavailable:
            return None

    def catch_up(self, charges: Sequence[Charge], generation: str | None) -> None:
        """After records committed while `generation` stood: their settles that landed before it."""
        values: dict[str, int] = {}
        if generation is not None:
            for ticket in charges:
                if not isinstance(ticket, Ticket) or not ticket.landed or ticket.missed:
                    continue  # still on its way (it lands after this write), or left to the refill
                if ticket.generation == generation:
                    continue
                if ticket.actual > 0:
                    for counter in ticket.plan.counters:
                        values[counter] = values.get(counter, 0) + ticket.actual
        if values:
            self._owed.append((values, generation or ""))
        owed, self._owed = self._owed, []
        for i, (amounts, of) in enumerate(owed):
            try:
                self.store.catch_up_sync(amounts, of)
            except CountersUnavailable as exc:
                self._owed = owed[i:]
                log.error("adding %d settles to the new budget counters failed, will retry: %s", len(amounts), exc)
                return
