"""Covey's one calendar (docs/design.md §4): which day, week and month an instant falls in is decided in
the org's timezone, by these pure functions, for everything that counts spend by period — budget
counters, the rollups and every report on them, the panel's spend pages.

Counters are keyed by period (`2026-11`, `2026-W48`, `2026-11-27`), so a new period starts at zero
without any reset job; a request is charged to the period it started in (its record's `created_at`).
A month is named by its first day (a `date`) in the org's calendar; `month_bounds` turns it into the
instants [start, end) it covers.
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


# The names a timezone that is UTC all year goes by.
_UTC = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "GMT"})


def is_utc(tz: ZoneInfo) -> bool:
    """Whether the org's calendar days are UTC days."""
    return tz.key in _UTC


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


def local_day(at: datetime, tz: ZoneInfo) -> date:
    """The org's calendar day `at` falls on: the day a rollup adds it to."""
    return at.astimezone(tz).date()


def month_of(at: datetime, tz: ZoneInfo) -> date:
    """The month `at` falls in, by its first day in the org's calendar."""
    return local_day(at, tz).replace(day=1)


def add_months(month: date, months: int) -> date:
    """The first of the month `months` after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_key(month: date) -> str:
    """`2026-11`: how a month is named in counters, reports and the panel."""
    return f"{month.year:04d}-{month.month:02d}"


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a month of the org's calendar."""
    first = month.replace(day=1)
    return _midnight(first, tz), _midnight(add_months(first, 1), tz)


def project_to_month_end(month_to_date: int, month: date, now: datetime, tz: ZoneInfo) -> int:
    """Month-to-date spend extended to the whole month at the same pace (exact integer arithmetic)."""
    start, end = month_bounds(month, tz)
    if now >= end:
        return month_to_date
    elapsed = max(int((now - start).total_seconds()), 1)
    return month_to_date * int((end - start).total_seconds()) // elapsed
