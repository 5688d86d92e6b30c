"""The months the panel's spend figures cover: calendar months in the organization's time zone, as
budgets count them (docs/design.md §4). The figures themselves are read in `admin.repository`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Month:
    label: str  # "2026-11"
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def months(timezone: str, now: datetime, count: int = 12) -> list[Month]:
    """The last `count` calendar months in `timezone`, oldest first, the current one last."""
    zone = ZoneInfo(timezone or "UTC")
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1
    out = []
    for i in range(index - count + 1, index + 1):
        start = datetime(i // 12, i % 12 + 1, 1, tzinfo=zone)
        end = datetime((i + 1) // 12, (i + 1) % 12 + 1, 1, tzinfo=zone)
        out.append(Month(label=f"{start.year}-{start.month:02d}", start=start.astimezone(UTC), end=end.astimezone(UTC)))
    return out


def current_month(timezone: str, now: datetime) -> Month:
    return months(timezone, now, 1)[0]
