"""Requesty's usage endpoints (`GET /v1/manage/apikey/{id|self}/usage`, `GET /v1/manage/org/usage`).

They take instants (RFC 3339) and answer in UTC periods (`2026-11-30T00:00:00Z`), as Requesty's
clients expect, whatever the org's timezone. Where the answer comes from:
- `day` and `month` over whole UTC days, for an org whose calendar is UTC, read the rollups:
  `usage_group_rollups` (the `own` rows) when only group and model dimensions are asked for,
  `usage_rollups` when a user or key is involved, and for whole calendar months the month tables
  (`usage_group_months`, `usage_user_months`);
- `hour` resolution, a range that does not start and end at midnight UTC, `extra.<field>`, and any
  range of an org in another timezone (its rollups are kept by its own days, docs/design.md §4) read
  the raw usage records (indexed by org or key, then time). These answers are meant for short windows,
  and reach back only as far as usage records are retained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import String, func, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from covey.budgets.periods import is_utc, zone
from covey.kit import collector
from covey.kit.errors import BadRequest
from covey.kit.money import NANOS_PER_DOLLAR
from covey.models import UsageRecord
from covey.reports import periods, repository
from covey.reports.periods import RESOLUTIONS, Resolution
from covey.reports.tables import GroupMonthRollup, GroupRollup, UsageRollup, UserMonthRollup

MAX_RANGE = timedelta(days=100)
DIMENSIONS = (
    "group_id",
    "group_name",
    "user_id",
    "api_key_id",
    "model_requested",
    "model_used",
    "provider_used",
    "origin_title",
)
# Dimensions only the usage records hold (the rollups do not keep them).
_RAW_ONLY = ("origin_title",)
_EXTRA = re.compile(r"^extra\.([A-Za-z0-9_\-.]{1,100})$")


@dataclass(frozen=True)
class UsageQuery:
    start: datetime
    end: datetime
    resolution: Resolution
    group_by: tuple[str, ...]


def parse_query(*, start: str | None, end: str | None, resolution: str | None, group_by: Sequence[str]) -> UsageQuery:
    if not start:
        raise BadRequest("start: required (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
    begin = periods.parse_rfc3339(start, "start")
    finish = periods.parse_rfc3339(end, "end") if end else begin + timedelta(hours=24)
    if finish <= begin:
        raise BadRequest("end: must be after start")
    if finish - begin > MAX_RANGE:
        raise BadRequest("end: the range may span at most 100 days")
    res = resolution or "day"
    if res not in RESOLUTIONS:
        raise BadRequest(f"resolution: must be one of {', '.join(RESOLUTIONS)}")
    dims: list[str] = []
    for raw in group_by:
        for name in raw.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in DIMENSIONS and not _EXTRA.match(name):
                raise BadRequest(f"group_by: unknown dimension {name!r}")
            if name not in dims:
                dims.append(name)
    if len(dims) > 8:
        raise BadRequest("group_by: at most 8 dimensions")
    return UsageQuery(start=begin, end=finish, resolution=res, group_by=tuple(dims))


def _needs_raw(query: UsageQuery) -> bool:
    return (
        query.resolution == "hour"
        or any(d.startswith("extra.") or d in _RAW_ONLY for d in query.group_by)
        or not (periods.is_midnight(query.start) and periods.is_midnight(query.end))
    )


def _raw_column(dim: str) -> ColumnElement[Any]:
    columns: dict[str, Any] = {
        "group_id": func.coalesce(UsageRecord.group_id, ""),
        "group_name": func.coalesce(UsageRecord.group_id, ""),
        "user_id": UsageRecord.user_id,
        "api_key_id": UsageRecord.key_id,
        "model_requested": UsageRecord.model_requested,
        "model_used": func.coalesce(UsageRecord.model_used, ""),
        "provider_used": func.coalesce(UsageRecord.provider_used, ""),
        # The calling application, from `X-Title` (or `HTTP-Referer`), kept with the record's dimensions.
        "origin_title": func.coalesce(UsageRecord.dimensions["origin_title"].as_string(), ""),
    }
    if dim in columns:
        return columns[dim]  # type: ignore[no-any-return]
    field = dim.split(".", 1)[1]
    return func.coalesce(UsageRecord.extra[field].as_string(), "")


def _rollup_column(model: repository.Rollup, dim: str) -> ColumnElement[Any]:
    name = {"group_name": "group_id", "api_key_id": "key_id"}.get(dim, dim)
    return getattr(model, name)  # type: ignore[no-any-return]


def _rollup_for(query: UsageQuery, key_id: str | None) -> repository.Rollup:
    """The smallest rollup table that holds every dimension asked for at the resolution asked for."""
    by_key = key_id is not None or "api_key_id" in query.group_by
    by_user = "user_id" in query.group_by
    whole_months = query.resolution == "month" and query.start.day == 1 and query.end.day == 1
    if by_key:
        return UsageRollup
    if whole_months:
        return UserMonthRollup if by_user else GroupMonthRollup
    return UsageRollup if by_user else GroupRollup


def _rows(session: Session, *, org_id: str, key_id: str | None, query: UsageQuery, raw: bool) -> Sequence[Any]:
    """(period, *dimension values, completions, embeddings, requests, spend, input, output) rows, with
    no NULL dimension values. The period is its label, or the rollup's own `date` where the table's
    grain is the resolution asked for (cheaper to group by; `usage` labels it)."""
    dialect = repository.dialect_of(session)
    utc_rollups = is_utc(zone(repository.org_timezone(session, org_id=org_id)))
    if raw or not utc_rollups or _needs_raw(query):
        by = [
            periods.timestamp_bucket(UsageRecord.created_at, query.resolution, dialect),
            *(_raw_column(d) for d in query.group_by),
        ]
        of_key = [UsageRecord.key_id == key_id] if key_id else []
        return repository.usage_from_records(
            session, org_id=org_id, start=query.start, end=query.end, by=by, where=of_key
        )
    model = _rollup_for(query, key_id)
    monthly = model in (GroupMonthRollup, UserMonthRollup)
    column = model.month if monthly else model.day  # type: ignore[union-attr]
    if monthly or query.resolution == "day":
        # The date as the driver reads it (SQLite's text, PostgreSQL's date): parsing SQLite's text into
        # dates would cost more than the query itself on answers of ten thousand rows.
        period: ColumnElement[Any] = type_coerce(column, String)
    else:
        period = periods.date_bucket(column, query.resolution, dialect)
    where: list[ColumnElement[bool]] = []
    if key_id is not None:
        where.append(UsageRollup.key_id == key_id)
    if model in (GroupRollup, GroupMonthRollup):
        where.append(repository.own_rows(model))
    return repository.usage_from_rollups(
        session,
        model,
        org_id=org_id,
        start=query.start.date(),
        end=query.end.date(),
        by=[period, *(_rollup_column(model, d) for d in query.group_by)],
        where=where,
    )


def _entry(completions: int, embeddings: int, requests: int, cost: int, inp: int, out: int) -> dict[str, Any]:
    return {
        "completions_requests": completions,
        "embedding_requests": embeddings,
        "image_requests": 0,
        "speech_requests": 0,
        "transcription_requests": 0,
        "total_requests": requests,
        # Correctly rounded, like `nanos_to_number`, and much cheaper on answers with thousands of entries.
        "spend": cost / NANOS_PER_DOLLAR,
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
    }


def usage(
    session: Session,
    *,
    org_id: str,
    key_id: str | None,
    query: UsageQuery,
    group_names: dict[str, str],
    raw: bool = False,
) -> dict[str, Any]:
    """`{"usage": {"<period>": UsageEntry}}`, every period of the range present, groups summing to totals.
    `raw` answers from the usage records even where rollups could (the benchmark's baseline)."""
    # A row's period is its label, or a rollup's date (or its ISO text) at day or month grain; hours
    # are always labels.
    label_of: dict[Any, str] = {}
    for start in periods.periods(query.start, query.end, query.resolution):
        label = periods.period_label(start)
        day = start.date()
        label_of[label] = label_of[day] = label_of[day.isoformat()] = label
    rows_of: dict[str, list[Any]] = {label: [] for label in label_of.values()}
    rows = _rows(session, org_id=org_id, key_id=key_id, query=query, raw=raw)
    with collector.paused():
        if "group_name" in query.group_by:
            rows = _named(rows, query.group_by, group_names)
        for row in rows:
            found = label_of.get(row[0])
            if found is not None:
                rows_of[found].append(row)
        return {"usage": {label: _period(period_rows, query.group_by) for label, period_rows in rows_of.items()}}


def _period(rows: list[Any], dims: tuple[str, ...]) -> dict[str, Any]:
    """One period's entry from its (period, *dimension values, *six counters) rows, one row a group."""
    n = len(dims)
    totals = [sum(column) for column in zip(*(row[n + 1 :] for row in rows), strict=True)] or [0] * 6
    grouped = []
    if n:
        rows.sort(key=itemgetter(*range(1, n + 1)))
        for _period, *values, completions, embeddings, requests, cost, inp, out in rows:
            entry = _entry(completions, embeddings, requests, cost, inp, out)
            entry["group_by_values"] = dict(zip(dims, values, strict=False))  # equal by construction; checking costs
            grouped.append(entry)
    return {**_entry(*totals), "grouped_data": grouped}


def _named(rows: Sequence[Any], dims: tuple[str, ...], group_names: dict[str, str]) -> list[tuple[Any, ...]]:
    """Rows with group ids replaced by names, summed where two groups share a name (siblings' names
    are unique, cousins' need not be)."""
    n = len(dims)
    named = [i for i, dim in enumerate(dims, start=1) if dim == "group_name"]
    merged: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        values = list(row[: n + 1])
        for i in named:
            values[i] = group_names.get(values[i], "")
        key = tuple(values)
        sums = merged.get(key)
        if sums is None:
            merged[key] = list(row[n + 1 :])
        else:
            for i, value in enumerate(row[n + 1 :]):
                sums[i] += value
    return [(*key, *sums) for key, sums in merged.items()]
