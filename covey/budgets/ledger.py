"""What the counters should hold, recomputed from the usage records: every monthly counter, and the
day and week counters that a line reads. Seeds the counters at start; `covey doctor` compares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from covey.budgets import repository
from covey.budgets.lines import Book, Line, counter_name, member_scope
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


def add_unwritten(
    out: dict[str, int], records: Sequence[Mapping[str, Any]], *, book: Book, at: datetime
) -> dict[str, int]:
    """`out` (from `expected_counters`) plus usage records not written yet, as if they were: each charges
    its key, user, org, groups and member scopes in every period that `expected_counters` covers."""
    for r in records:
        cost, org_id = int(r["cost_nanos"]), r["org_id"]
        if cost <= 0:
            continue
        tz = zone(book.timezones.get(org_id))
        groups = list(r["charged_groups"])
        scopes = [f"key:{r['key_id']}", f"user:{r['user_id']}", f"org:{org_id}"]
        scopes += [f"group:{g}" for g in groups] + [member_scope(g, r["user_id"]) for g in groups]
        lines = [ln for ln in _lines_of(book, org_id) if ln.period != "month"]
        for period in ("month", *sorted({ln.period for ln in lines})):
            start, end = bounds(period, at, tz)
            if not start <= r["created_at"] < end:
                continue
            key = period_key(period, at, tz)
            for scope in scopes:
                name = counter_name(scope, key)
                if period == "month" or name in out or any(_reads(ln, scope) for ln in lines if ln.period == period):
                    out[name] = out.get(name, 0) + cost
    return out


def _reads(line: Line, scope: str) -> bool:
    if line.owner_type == "member":
        return scope.startswith(f"member:{line.owner_id}:")
    return scope == line.scope("")


def _lines_of(book: Book, org_id: str) -> list[Line]:
    # The control plane updates the book in place from another thread: copy its entries in one step.
    return [ln for group in list(book.lines.values()) for ln in group if ln.org_id == org_id]
