"""What the counters should hold, recomputed from the usage records: every monthly counter, and the
day and week counters that a line reads. Seeds the counters at start; `covey doctor` compares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from covey.budgets import repository
from covey.budgets.lines import Book, Line, counter_name
from covey.budgets.periods import bounds, period_key, zone


def expected_counters(session: Session, *, book: Book, at: datetime, org_ids: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for org_id in org_ids:
        tz = zone(book.timezones.get(org_id))
        start, end = bounds("month", at, tz)
        month = period_key("month", at, tz)
        for scope, total in repository.spend_by_scope(session, org_id=org_id, start=start, end=end).items():
            out[counter_name(scope, month)] = total
        org_lines = [ln for ln in _lines_of(book, org_id) if ln.period != "month"]
        for period in sorted({ln.period for ln in org_lines}):
            start, end = bounds(period, at, tz)
            key = period_key(period, at, tz)
            spend = repository.spend_by_scope(session, org_id=org_id, start=start, end=end)
            for ln in (x for x in org_lines if x.period == period):
                prefix = f"member:{ln.owner_id}:" if ln.owner_type == "member" else None
                for scope, total in spend.items():
                    if scope == ln.scope("") or (prefix is not None and scope.startswith(prefix)):
                        out[counter_name(scope, key)] = total
                if prefix is None:
                    out.setdefault(counter_name(ln.scope(""), key), 0)
    return out


def _lines_of(book: Book, org_id: str) -> list[Line]:
    return [ln for group in book.lines.values() for ln in group if ln.org_id == org_id]
