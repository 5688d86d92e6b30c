"""Budget periods as pure functions: which period an instant falls in, in the org's timezone.

Counters are keyed by period (`2026-11`, `2026-W48`, `2026-11-27`), so a new period starts at zero
without any reset job; a request is charged to the period it started in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PERIODS = ("month", "week", "day")
ADJECTIVE = {"month": "monthly", "week": "weekly", "day": "daily"}


@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    """The org's timezone; an unknown name falls back to UTC rather than stopping every request."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_key(period: str, at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    if period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if period == "day":
        return local.date().isoformat()
    raise ValueError(f"unknown period {period!r}")


def _start_of(period: str, local_day: date) -> date:
    if period == "month":
        return local_day.replace(day=1)
    if period == "week":
        return local_day - timedelta(days=local_day.weekday())
    return local_day


def _next_start(period: str, start: date) -> date:
    if period == "month":
        return date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start + timedelta(days=7 if period == "week" else 1)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def bounds(period: str, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the period `at` falls in."""
    start = _start_of(period, at.astimezone(tz).date())
    return _midnight(start, tz), _midnight(_next_start(period, start), tz)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
