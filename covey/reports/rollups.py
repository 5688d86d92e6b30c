"""Keeping the rollups as usage records are written (never by rescanning the log).

The usage writer calls `record_usage(session, records)`: the records, their charged groups and their
share of the rollups in one transaction, so a record and its share commit or fail together.

A record's day and month are its org's calendar day and month (`covey.budgets.periods`), the periods
its budget counters charged it to: a month of the rollups is the month budgets and the panel speak of.
The day is fixed when the record is written; an org that changes its timezone keeps the days its
earlier usage was counted on.

A batch is first summed in memory by rollup key, then upserted with one `INSERT … ON CONFLICT DO
UPDATE SET n = n + excluded.n` per table, in key order so concurrent writers lock rows in the same
order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from covey.budgets.periods import local_day, zone
from covey.reports import repository
from covey.reports.savings import PriceLookup, cache_savings_nanos
from covey.reports.tables import (
    COUNTERS,
    FEATURE_COUNTERS,
    GROUP_DIMENSIONS,
    GROUP_MONTH_DIMENSIONS,
    USAGE_DIMENSIONS,
    USER_MONTH_DIMENSIONS,
    GroupMonthRollup,
    GroupRollup,
    UsageRollup,
    UserMonthRollup,
)
from covey.usage import repository as usage_repository

Record = Mapping[str, Any]
Sums = dict[tuple[Any, ...], list[int]]
_N = len(COUNTERS)
# Each rollup table with its key columns, in the order `summarize` returns their sums.
TABLES: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (UsageRollup.__table__, USAGE_DIMENSIONS),
    (GroupRollup.__table__, GROUP_DIMENSIONS),
    (GroupMonthRollup.__table__, GROUP_MONTH_DIMENSIONS),
    (UserMonthRollup.__table__, USER_MONTH_DIMENSIONS),
)


def is_failure(status: int) -> bool:
    return status >= 400 or status == 0


def counters_of(record: Record, prices: PriceLookup | None) -> list[int]:
    """One record's contribution, in `COUNTERS` order."""
    features = set(record.get("features") or ())
    return [
        1,
        1 if is_failure(int(record["status"])) else 0,
        int(record.get("input_tokens") or 0),
        int(record.get("output_tokens") or 0),
        int(record.get("cached_tokens") or 0),
        int(record.get("reasoning_tokens") or 0),
        int(record.get("cost_nanos") or 0),
        cache_savings_nanos(record, prices),
        *(1 if f in features else 0 for f in FEATURE_COUNTERS),
    ]


def day_of(record: Record, zones: Mapping[str, ZoneInfo]) -> date:
    """The day of its org's calendar a record counts on (UTC for an org `zones` does not name)."""
    return local_day(record["created_at"], zones.get(record["org_id"]) or zone(None))


def charged_of(record: Record) -> list[str]:
    """The groups a record is charged to, its own group first; `['']` for a personal key."""
    charged = list(record.get("charged_groups") or ())
    if charged:
        return charged
    return [record.get("group_id") or ""]


def summarize(
    records: Iterable[Record], prices: PriceLookup | None = None, zones: Mapping[str, ZoneInfo] | None = None
) -> list[Sums]:
    """A batch summed by the key of each rollup table, in `TABLES` order; `zones` holds each org's
    timezone (`org_zones`)."""
    zones = zones or {}
    usage: Sums = {}
    groups: Sums = {}
    group_months: Sums = {}
    user_months: Sums = {}
    for r in records:
        counts = counters_of(r, prices)
        day = day_of(r, zones)
        month = day.replace(day=1)
        org_id = r["org_id"]
        own_group = r.get("group_id") or ""
        models = (r["endpoint"], r["model_requested"], r.get("model_used") or "", r.get("provider_used") or "")
        _add(usage, (org_id, day, r["key_id"], r["user_id"], own_group, *models), counts)
        _add(user_months, (org_id, month, r["user_id"], own_group, *models), counts)
        for gid in charged_of(r):
            _add(groups, (org_id, day, gid, gid == own_group, *models), counts)
            _add(group_months, (org_id, month, gid, gid == own_group, *models), counts)
    return [usage, groups, group_months, user_months]


def _add(into: Sums, key: tuple[Any, ...], counts: list[int]) -> None:
    total = into.get(key)
    if total is None:
        into[key] = list(counts)
    else:
        for i in range(_N):
            total[i] += counts[i]


def _upsert(session: Session, table: Table, dims: Sequence[str], sums: Sums) -> None:
    if not sums:
        return
    dialect = session.get_bind().dialect.name
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[d] for d in dims],
        set_={c: table.c[c] + stmt.excluded[c] for c in COUNTERS},
    )
    rows = [
        {**dict(zip(dims, key, strict=True)), **dict(zip(COUNTERS, sums[key], strict=True))}
        for key in sorted(sums, key=_sort_key)
    ]
    session.execute(stmt, rows)


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(part) for part in key)


def apply_summary(session: Session, summary: Sequence[Sums]) -> None:
    for (table, dims), sums in zip(TABLES, summary, strict=True):
        _upsert(session, table, dims, sums)


def org_zones(session: Session, records: Iterable[Record]) -> dict[str, ZoneInfo]:
    """The timezone of each org a batch's records belong to, read in the writer's transaction."""
    return {oid: zone(tz) for oid, tz in repository.org_timezones(session, {r["org_id"] for r in records}).items()}


def apply_to_rollups(session: Session, records: Sequence[Record], *, prices: PriceLookup | None = None) -> None:
    """Add a batch of new usage records (the dicts the writer inserts) to the rollups."""
    apply_summary(session, summarize(records, prices, org_zones(session, records)))


def charges_of(record: Record) -> list[dict[str, Any]]:
    """The `usage_charges` rows of a record: one per charged group, depth 0 for the key's own group."""
    return [
        {
            "usage_id": record["id"],
            "group_id": gid,
            "org_id": record["org_id"],
            "created_at": record["created_at"],
            "cost_nanos": record.get("cost_nanos") or 0,
            "depth": depth,
        }
        for depth, gid in enumerate(record.get("charged_groups") or ())
    ]


def record_usage(session: Session, records: Sequence[Record], *, prices: PriceLookup | None = None) -> None:
    """The one way usage records are written — by the gateway's writer, the demo and the tests alike:
    the records, their charged groups and their share of the rollups, in the caller's transaction,
    so a batch and its rollups commit (or fail) together."""
    charges = [c for r in records for c in charges_of(r)]
    usage_repository.insert_batch(session, records, charges)
    apply_to_rollups(session, records, prices=prices)
