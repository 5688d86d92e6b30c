"""Jinja filters: money, dates, percentages.

One money format on every page: dollars to the cent with separators ("$1,234.50"); an amount that is
not zero but rounds to $0.00 keeps two significant digits ("$0.00077") so that it never reads as
nothing. Amounts come in as integer nano-dollars (`usd`) or as the API's decimal dollars (`dollars`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from covey.kit.money import from_nanos, nanos_to_text

_CENT = Decimal("0.01")
NO_AMOUNT = "—"


def amount_text(amount: Decimal) -> str:
    """The panel's one money format, from exact dollars."""
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    if cents or not amount:
        return f"{sign}${cents:,}"
    shown = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 1), rounding=ROUND_HALF_EVEN)
    return f"{sign}${format(shown.normalize(), 'f')}"


def usd(nanos: int | None) -> str:
    """Integer nano-dollars; none counts as nothing spent."""
    return amount_text(from_nanos(nanos or 0))


def limit(nanos: int | None) -> str:
    """A budget or limit in nano-dollars: none means no limit."""
    return NO_AMOUNT if nanos is None else usd(nanos)


def dollars(value: str | Decimal | float | int | None) -> str:
    """Decimal dollars as the API gives them ("1234.5", 12.5): the same format; none shows a dash."""
    if value is None or value == "":
        return NO_AMOUNT
    return amount_text(Decimal(str(value)))


def money_text(nanos: int | None) -> str:
    """For an input's value: plain decimal dollars, empty for none."""
    return "" if nanos is None else nanos_to_text(nanos)


def when(value: datetime | None) -> str:
    return NO_AMOUNT if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    return NO_AMOUNT if value is None else value.strftime("%Y-%m-%d")


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
