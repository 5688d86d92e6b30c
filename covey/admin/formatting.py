"""Jinja filters: money from nano-dollars, dates, percentages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from covey.kit.money import format_usd, from_nanos, nanos_to_text


def usd(nanos: int | None) -> str:
    """Dollars to the cent; a non-zero amount under a cent keeps enough digits not to read as $0.00."""
    if nanos and abs(nanos) < 10_000_000:
        digits = format(from_nanos(abs(nanos)), "f")
        return ("-$" if nanos < 0 else "$") + digits
    return format_usd(nanos or 0)


def limit(nanos: int | None) -> str:
    """A budget or limit: null means none."""
    return "—" if nanos is None else format_usd(nanos)


def money_text(nanos: int | None) -> str:
    """For an input's value: plain decimal dollars, empty for none."""
    return "" if nanos is None else nanos_to_text(nanos)


def dollars(text: str | None) -> str:
    """Decimal dollar text from the reports ("1234.5") shown to the cent with separators ("1,234.50")."""
    if text is None:
        return "—"
    return f"{Decimal(text).quantize(Decimal('0.01')):,}"


def when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d")


def percent(spent: int, budget: int | None) -> int:
    """How much of a budget is used, 0..100 for the bar (a budget of none shows no bar)."""
    if not budget:
        return 0
    return min(100, round(100 * spent / budget))


FILTERS: dict[str, Callable[..., Any]] = {
    "usd": usd,
    "limit": limit,
    "when": when,
    "day": day,
    "percent": percent,
    "money_text": money_text,
    "dollars": dollars,
}
