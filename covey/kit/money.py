"""Exact money: integer nano-dollars inside, decimal strings or numbers at the edges."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

NANOS_PER_DOLLAR = 1_000_000_000
_NANO = Decimal("0.000000001")
# Larger than any budget anyone means, small enough for a signed 64-bit column with headroom.
MAX_DOLLARS = Decimal("1000000000")


class MoneyError(ValueError):
    pass


def parse_dollars(value: object) -> Decimal:
    """A dollar amount from JSON: a number or a decimal string. Never through a binary float's noise."""
    if isinstance(value, bool) or value is None:
        raise MoneyError("must be a number or a decimal string")
    if isinstance(value, float):
        text = repr(value)  # the shortest text that round-trips: 0.1 stays 0.1
    elif isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise MoneyError("must be a number or a decimal string")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise MoneyError("must be finite")
    if amount < 0:
        raise MoneyError("must not be negative")
    if amount > MAX_DOLLARS:
        raise MoneyError(f"must be at most {MAX_DOLLARS}")
    if amount != amount.quantize(_NANO, rounding=ROUND_HALF_EVEN):
        raise MoneyError("has more than 9 decimal places")
    return amount


def to_nanos(amount: Decimal) -> int:
    return int((amount * NANOS_PER_DOLLAR).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_nanos(nanos: int) -> Decimal:
    return (Decimal(nanos) / NANOS_PER_DOLLAR).quantize(_NANO).normalize() if nanos else Decimal(0)


def nanos_to_text(nanos: int) -> str:
    """`12.5`, `0`, `0.000001`: plain decimal text, never exponent notation."""
    return format(from_nanos(nanos), "f")


def nanos_to_number(nanos: int) -> float:
    """For fields Requesty types as JSON numbers. Exact for amounts of up to 15 significant digits."""
    return float(from_nanos(nanos))


def format_usd(nanos: int) -> str:
    return f"${from_nanos(nanos).quantize(Decimal('0.01')):,}"
