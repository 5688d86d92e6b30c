"""What the usage endpoints and reports parse (RFC 3339 instants, `2026-11` months), and the UTC buckets
of Requesty's usage endpoints (hour, day, month) in SQL on either database. The calendar that budgets,
reports and the panel count by, the org's, is `covey.budgets.periods`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from covey.budgets.periods import add_months
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


def parse_month(value: str | None, field: str = "month") -> date | None:
    """`2026-11` → the first of that month; None stays None (the org's current month, where it is used)."""
    if value is None:
        return None
    try:
        year, month = (int(p) for p in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise BadRequest(f"{field}: {value!r} is not a month like 2026-11") from None


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
    nxt = add_months(moment.date().replace(day=1), 1)
    return datetime(nxt.year, nxt.month, 1, tzinfo=UTC)


def periods(start: datetime, end: datetime, resolution: Resolution) -> Iterator[datetime]:
    """Every period that overlaps [start, end)."""
    current = truncate(start, resolution)
    while current < end:
        yield current
        current = step(current, resolution)


def period_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
