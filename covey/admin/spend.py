"""The months the panel's spend figures cover: calendar months in the organization's time zone, the
months budgets count and reports answer for (`covey.budgets.periods`, docs/design.md §4). The figures
themselves are read in `admin.repository`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from covey.budgets.periods import add_months, month_bounds, month_key, month_of, zone


@dataclass(frozen=True)
class Month:
    label: str  # "2026-11"
    first: date  # its first day in the org's calendar: how the rollups name it
    next: date  # the first day of the month after
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def months(timezone: str, now: datetime, count: int = 12) -> list[Month]:
    """The last `count` calendar months in `timezone`, oldest first, the current one last."""
    tz = zone(timezone)
    current = month_of(now, tz)
    out = []
    for back in range(count - 1, -1, -1):
        first = add_months(current, -back)
        start, end = month_bounds(first, tz)
        out.append(Month(label=month_key(first), first=first, next=add_months(first, 1), start=start, end=end))
    return out


def current_month(timezone: str, now: datetime) -> Month:
    return months(timezone, now, 1)[0]
