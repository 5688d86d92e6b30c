"""Spend counters behind one interface, with reservations that expire.

A counter is named `<scope>@<period>` (`group:…@2026-11`) and holds settled spend in nano-dollars.
`reserve` holds an estimate on every checked counter at once — or, given `least`, as much of it as the
tightest counter has room for, down to `least` — or on none when one has no room;
`settle` turns a request's reservation into its real cost. A reservation left behind by a crashed
request stops counting once it expires.

`MemoryCounters` is the embedded store (one process); `covey.budgets.redis_counters` is the shared one.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from covey.budgets.lines import room_to_hold


class CountersUnavailable(Exception):
    """The counter store cannot be reached: hard budgets cannot be checked."""


@dataclass(frozen=True, slots=True)
class Check:
    counter: str
    limit: int


@dataclass(frozen=True, slots=True)
class Hold:
    """What a reservation got: `amount` held on every checked counter, or the index of the first check
    without room (`failed`, nothing held)."""

    failed: int | None
    amount: int


class CounterStore(Protocol):
    kind: str

    async def reserve(
        self,
        *,
        reservation: str,
        checks: Sequence[Check],
        estimate: int,
        now: float,
        hold_seconds: float,
        least: int | None = None,
    ) -> Hold:
        """Reserve `estimate` on every checked counter, or, when the tightest has less room but at least
        `least` (default: `estimate`), all the room it has (`lines.room_to_hold`); else nothing, naming
        the first check without room."""
        ...

    async def settle(self, *, reservation: str, counters: Sequence[str], actual: int) -> list[int]:
        """Release the reservation (where there is one) and add `actual` to every counter; the new totals."""
        ...

    async def spent(self, counters: Sequence[str]) -> list[int]: ...

    def spent_sync(self, counters: Sequence[str]) -> list[int]:
        """For the management API's worker threads."""
        ...

    async def replace(self, values: Mapping[str, int]) -> None:
        """Set counters outright (`covey doctor --repair`)."""
        ...

    async def seed(self, values: Mapping[str, int]) -> None:
        """Set counters that do not exist yet (at start, from the usage records)."""
        ...

    async def raise_to(self, values: Mapping[str, int]) -> int:
        """Raise counters below the given values to them (never lower one); how many were raised."""
        ...

    async def intact(self) -> bool:
        """Whether the store still holds what was seeded (a Redis restarted without its data does not)."""
        ...

    async def ping(self) -> None: ...

    def ping_sync(self) -> None: ...

    async def close(self) -> None: ...


class _Holds:
    """The reservations on one counter: their running sum, and a heap by expiry so the expired ones are
    dropped in the order they expire, whatever order they were made in. A hold released early leaves its
    heap entry behind, skipped when it comes up (its sequence number no longer matches) and dropped when
    the heap is rebuilt."""

    __slots__ = ("by_id", "heap", "total")

    def __init__(self) -> None:
        self.total = 0
        self.by_id: dict[str, tuple[int, int]] = {}  # reservation → (amount, sequence number)
        self.heap: list[tuple[float, int, str]] = []  # (expiry, sequence number, reservation)

    def add(self, reservation: str, amount: int, expiry: float, seq: int) -> None:
        self.release(reservation)
        self.by_id[reservation] = (amount, seq)
        self.total += amount
        heapq.heappush(self.heap, (expiry, seq, reservation))
        if len(self.heap) > 64 and len(self.heap) > 2 * len(self.by_id):
            self._rebuild()

    def release(self, reservation: str) -> None:
        held = self.by_id.pop(reservation, None)
        if held is not None:
            self.total -= held[0]

    def expire(self, now: float) -> int:
        """Drops the holds expired by `now`; the sum of those left."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            _, seq, reservation = heapq.heappop(heap)
            held = self.by_id.get(reservation)
            if held is not None and held[1] == seq:
                del self.by_id[reservation]
                self.total -= held[0]
        return self.total

    def _rebuild(self) -> None:
        live = {seq for _, seq in self.by_id.values()}
        self.heap = [entry for entry in self.heap if entry[1] in live]
        heapq.heapify(self.heap)


class MemoryCounters:
    """Counters in this process. They are rebuilt from the usage records at start (`seed`), so a restart
    forgets nothing that was recorded."""

    kind = "memory"

    def __init__(self) -> None:
        self._spent: dict[str, int] = {}
        self._held: dict[str, _Holds] = {}
        self._seq = itertools.count()
        # The management API reads from worker threads while the event loop writes.
        self._lock = threading.Lock()

    def _reserved(self, counter: str, now: float) -> int:
        held = self._held.get(counter)
        return held.expire(now) if held is not None else 0

    async def reserve(
        self,
        *,
        reservation: str,
        checks: Sequence[Check],
        estimate: int,
        now: float,
        hold_seconds: float,
        least: int | None = None,
    ) -> Hold:
        with self._lock:
            failed, amount = room_to_hold(
                [c.limit for c in checks],
                [self._spent.get(c.counter, 0) for c in checks],
                [self._reserved(c.counter, now) for c in checks],
                estimate,
                estimate if least is None else least,
            )
            if failed is not None:
                return Hold(failed, 0)
            expiry, seq = now + hold_seconds, next(self._seq)
            for counter in dict.fromkeys(c.counter for c in checks):
                held = self._held.get(counter)
                if held is None:
                    held = self._held[counter] = _Holds()
                held.add(reservation, amount, expiry, seq)
            return Hold(None, amount)

    async def settle(self, *, reservation: str, counters: Sequence[str], actual: int) -> list[int]:
        with self._lock:
            out = []
            for counter in counters:
                held = self._held.get(counter)
                if held is not None:
                    held.release(reservation)
                total = self._spent[counter] = self._spent.get(counter, 0) + actual
                out.append(total)
            return out

    async def spent(self, counters: Sequence[str]) -> list[int]:
        return self.spent_sync(counters)

    def spent_sync(self, counters: Sequence[str]) -> list[int]:
        with self._lock:
            return [self._spent.get(c, 0) for c in counters]

    async def replace(self, values: Mapping[str, int]) -> None:
        with self._lock:
            self._spent.update(values)

    async def seed(self, values: Mapping[str, int]) -> None:
        with self._lock:
            for counter, value in values.items():
                self._spent.setdefault(counter, value)

    async def raise_to(self, values: Mapping[str, int]) -> int:
        with self._lock:
            low = {c: v for c, v in values.items() if v > self._spent.get(c, 0)}
            self._spent.update(low)
            return len(low)

    async def intact(self) -> bool:
        return True  # lives and dies with this process

    async def ping(self) -> None:
        return None

    def ping_sync(self) -> None:
        return None

    async def close(self) -> None:
        return None
