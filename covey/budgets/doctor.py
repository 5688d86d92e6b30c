"""Reconciliation: the counters must agree with the usage records. `examine` recomputes the current
period's spend per counter from the records and compares; `repair` sets the counters that drifted.
It also checks docs/design.md §3's invariant: org total = Σ top-level groups' totals + Σ personal-key spend.

Counters move at settle, records land within one flush interval: run it on a quiet system, or expect
in-flight requests to show as small drifts that disappear on the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from covey.budgets import ledger, repository
from covey.budgets.counters import CounterStore
from covey.budgets.lines import Book
from covey.budgets.periods import bounds, period_key, zone
from covey.kit.db import Database
from covey.kit.money import nanos_to_text


@dataclass(frozen=True, slots=True)
class Drift:
    counter: str
    expected: int  # from the usage records
    actual: int  # in the counter store


@dataclass(frozen=True, slots=True)
class Invariant:
    org_id: str
    month: str
    org_total: int
    top_level_groups: int
    personal_keys: int

    @property
    def holds(self) -> bool:
        return self.org_total == self.top_level_groups + self.personal_keys


@dataclass
class Report:
    checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    invariants: list[Invariant] = field(default_factory=list)
    repaired: bool = False

    @property
    def healthy(self) -> bool:
        return not self.drifts and all(i.holds for i in self.invariants)

    def lines(self, *, counters: bool = True) -> list[str]:
        """The report for people; `counters=False` gives only the invariant."""
        out = [f"{self.checked} counters checked against the usage records."] if counters else []
        for d in self.drifts:
            out.append(
                f"DRIFT {d.counter}: counter {nanos_to_text(d.actual)}, records {nanos_to_text(d.expected)}"
                + (" (repaired)" if self.repaired else "")
            )
        if counters and not self.drifts:
            out.append("No drift.")
        for i in self.invariants:
            verdict = "holds" if i.holds else "BROKEN"
            out.append(
                f"Invariant {verdict} for org {i.org_id} in {i.month}: total {nanos_to_text(i.org_total)} = "
                f"top-level groups {nanos_to_text(i.top_level_groups)} + personal keys {nanos_to_text(i.personal_keys)}"
            )
        return out


def _expected(
    db: Database, book: Book, at: datetime, org_ids: Iterable[str] | None
) -> tuple[dict[str, int], list[Invariant]]:
    with db.sessions() as session:
        orgs = list(org_ids) if org_ids is not None else repository.org_ids(session)
        expected = ledger.expected_counters(session, book=book, at=at, org_ids=orgs)
        invariants = []
        for org_id in orgs:
            tz = zone(book.timezones.get(org_id))
            start, end = bounds("month", at, tz)
            month = period_key("month", at, tz)
            top, personal = repository.top_level_and_personal(session, org_id=org_id, start=start, end=end)
            total = expected.get(f"org:{org_id}@{month}", 0)
            invariants.append(Invariant(org_id, month, total, top, personal))
    return expected, invariants


async def examine(
    db: Database, store: CounterStore, *, book: Book, at: datetime, org_ids: Iterable[str] | None = None
) -> Report:
    expected, invariants = await asyncio.to_thread(_expected, db, book, at, org_ids)
    counters = sorted(expected)
    actual = await store.spent(counters)
    drifts = [Drift(c, expected[c], a) for c, a in zip(counters, actual, strict=True) if expected[c] != a]
    return Report(checked=len(counters), drifts=drifts, invariants=invariants)


async def repair(store: CounterStore, report: Report) -> Report:
    if report.drifts:
        await store.replace({d.counter: d.expected for d in report.drifts})
    report.repaired = True
    return report
