"""Requesty's usage endpoints (`GET /v1/manage/apikey/{id|self}/usage`, `GET /v1/manage/org/usage`).

Where the answer comes from:
- `day` and `month` over whole UTC days read the rollups: `usage_group_rollups` (the `own` rows)
  when only group and model dimensions are asked for, `usage_rollups` when a user or key is involved,
  and for whole calendar months the month tables (`usage_group_months`, `usage_user_months`);
- `hour` resolution, a range that does not start and end at midnight UTC, and `extra.<field>`
  read the raw usage records (indexed by org or key, then time). These answers are meant for short
  windows, and reach back only as far as usage records are retained.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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
)
_EXTRA = re.compile(r"^extra\.([A-Za-z0-9_\-.]{1,100})$")
_COMPLETIONS = ("chat", "messages")
_EMBEDDINGS = ("embeddings",)


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
        or any(d.startswith("extra.") for d in query.group_by)
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
    """(period label, endpoint, *dimension values, requests, cost, input, output) rows."""
    dialect = repository.dialect_of(session)
    if raw or _needs_raw(query):
        by = [
            periods.timestamp_bucket(UsageRecord.created_at, query.resolution, dialect),
            UsageRecord.endpoint,
            *(_raw_column(d) for d in query.group_by),
        ]
        raw_where = [UsageRecord.key_id == key_id] if key_id else []
        return repository.sum_raw(session, org_id=org_id, start=query.start, end=query.end, by=by, where=raw_where)
    model = _rollup_for(query, key_id)
    period = model.month if model in (GroupMonthRollup, UserMonthRollup) else model.day  # type: ignore[union-attr]
    by = [
        periods.date_bucket(period, query.resolution, dialect),
        model.endpoint,
        *(_rollup_column(model, d) for d in query.group_by),
    ]
    where: list[ColumnElement[bool]] = []
    if key_id is not None:
        where.append(UsageRollup.key_id == key_id)
    if model in (GroupRollup, GroupMonthRollup):
        where.append(repository.own_rows(model))
    return repository.sum_rollups(
        session,
        model,
        org_id=org_id,
        start=query.start.date(),
        end=query.end.date(),
        by=by,
        where=where,
        counters=("requests", "cost_nanos", "input_tokens", "output_tokens"),
    )


# Running sums of one entry: completions, embeddings, all requests, spend (nanos), input, output tokens.
_Sums = list[int]


def _add(into: _Sums, endpoint: str, requests: int, cost: int, inp: int, out: int) -> None:
    if endpoint in _COMPLETIONS:
        into[0] += requests
    elif endpoint in _EMBEDDINGS:
        into[1] += requests
    into[2] += requests
    into[3] += cost
    into[4] += inp
    into[5] += out


def _entry(sums: _Sums) -> dict[str, Any]:
    return {
        "completions_requests": sums[0],
        "embedding_requests": sums[1],
        "image_requests": 0,
        "speech_requests": 0,
        "transcription_requests": 0,
        "total_requests": sums[2],
        # Correctly rounded, like `nanos_to_number`, and much cheaper on answers with thousands of entries.
        "spend": sums[3] / NANOS_PER_DOLLAR,
        "input_tokens": sums[4],
        "output_tokens": sums[5],
        "total_tokens": sums[4] + sums[5],
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
    totals: dict[str, _Sums] = {
        periods.period_label(p): [0] * 6 for p in periods.periods(query.start, query.end, query.resolution)
    }
    grouped: dict[str, dict[tuple[str, ...], _Sums]] = {label: {} for label in totals}
    dims = query.group_by
    n = len(dims)
    names = "group_name" in dims
    for row in _rows(session, org_id=org_id, key_id=key_id, query=query, raw=raw):
        label = row[0]
        if label not in totals:
            continue
        endpoint = row[1]
        requests, cost, inp, out = int(row[n + 2]), int(row[n + 3]), int(row[n + 4]), int(row[n + 5])
        _add(totals[label], endpoint, requests, cost, inp, out)
        if n:
            values = row[2 : 2 + n]
            key = (
                tuple(_value(d, v, group_names) for d, v in zip(dims, values, strict=True))
                if names
                else tuple("" if v is None else v for v in values)
            )
            sums = grouped[label].get(key)
            if sums is None:
                sums = grouped[label][key] = [0] * 6
            _add(sums, endpoint, requests, cost, inp, out)
    return {
        "usage": {
            label: {
                **_entry(sums),
                "grouped_data": [
                    {"group_by_values": dict(zip(dims, key, strict=True)), **_entry(g)}
                    for key, g in sorted(grouped[label].items())
                ],
            }
            for label, sums in totals.items()
        }
    }


def _value(dim: str, value: Any, group_names: dict[str, str]) -> str:
    text = "" if value is None else str(value)
    if dim == "group_name":
        return group_names.get(text, "") if text else ""
    return text
