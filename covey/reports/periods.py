"""Periods: RFC 3339 parsing, calendar months in UTC, and period buckets in SQL on either database."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from covey.kit.errors import BadRequest

Resolution = Literal["hour", "day", "month"]
RESOLUTIONS: tuple[Resolution, ...] = ("hour", "day", "month")


def parse_rfc3339(value: str, field: str) -> datetime:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{field}: {value!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise BadRequest(f"{field}: {value!r} needs a timezone (e.g. Z)")
    return parsed.astimezone(UTC)


def parse_month(value: str | None, *, today: date, field: str = "month") -> date:
    """`2026-11` → the first of that month; None → the current month."""
    if value is None:
        return today.replace(day=1)
    try:
        year, month = (int(p) for p in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise BadRequest(f"{field}: {value!r} is not a month like 2026-11") from None


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def truncate(moment: datetime, resolution: Resolution) -> datetime:
    moment = moment.astimezone(UTC)
    if resolution == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if resolution == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def step(moment: datetime, resolution: Resolution) -> datetime:
    if resolution == "hour":
        return moment + timedelta(hours=1)
    if resolution == "day":
        return moment + timedelta(days=1)
    nxt = add_months(moment.date(), 1)
    return datetime(nxt.year, nxt.month, 1, tzinfo=UTC)


def periods(start: datetime, end: datetime, resolution: Resolution) -> Iterator[datetime]:
    """Every period that overlaps [start, end)."""
    current = truncate(start, resolution)
    while current < end:
        yield current
        current = step(current, resolution)


def period_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def project_to_month_end(month_to_date: int, month: date, now: datetime) -> int:
    """Month-to-date spend extended to the whole month at the same pace (exact integer arithmetic)."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    nxt = add_months(month, 1)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    if now >= end:
        return month_to_date
    elapsed = max(int((now - start).total_seconds()), 1)
    return month_to_date * int((end - start).total_seconds()) // elapsed


def is_midnight(moment: datetime) -> bool:
    return moment == truncate(moment, "day")


# SQL expressions giving a period's label as text, so both databases group alike.
_SQLITE_FORMATS = {"hour": "%Y-%m-%dT%H:00:00Z", "day": "%Y-%m-%dT00:00:00Z", "month": "%Y-%m-01T00:00:00Z"}
_PG_FORMATS = {
    "hour": 'YYYY-MM-DD"T"HH24":00:00Z"',
    "day": 'YYYY-MM-DD"T00:00:00Z"',
    "month": 'YYYY-MM"-01T00:00:00Z"',
}


def timestamp_bucket(column: Any, resolution: Resolution, dialect: str) -> ColumnElement[str]:
    """A `timestamp with time zone` (UTC) column's period label."""
    if dialect == "postgresql":
        utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
        return func.to_char(utc, _PG_FORMATS[resolution])
    return func.strftime(_SQLITE_FORMATS[resolution], column)


def date_bucket(column: Any, resolution: Resolution, dialect: str) -> ColumnElement[str]:
    """A `date` column's period label (day or month)."""
    if dialect == "postgresql":
        return func.to_char(column, _PG_FORMATS[resolution])
    return func.strftime(_SQLITE_FORMATS[resolution], column)
