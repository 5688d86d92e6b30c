"""Exact arithmetic for report figures: integer nano-dollars in, decimal text out."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from covey.kit.money import nanos_to_text
from covey.reports.schemas import Breakdown, Efficiency
from covey.reports.tables import COUNTERS

_SHARE = Decimal("0.0001")


def share(part: int, whole: int) -> str | None:
    if whole <= 0:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(_SHARE, rounding=ROUND_HALF_EVEN))


def money(nanos: int | None) -> str | None:
    return None if nanos is None else nanos_to_text(nanos)


def counters(row: Any, names: Sequence[str] = COUNTERS) -> dict[str, int]:
    return {name: int(getattr(row, name) or 0) for name in names}


def efficiency(c: dict[str, int]) -> Efficiency:
    requests, cost = c.get("requests", 0), c.get("cost_nanos", 0)
    tokens = c.get("input_tokens", 0) + c.get("output_tokens", 0)
    return Efficiency(
        requests=requests,
        failures=c.get("failures", 0),
        input_tokens=c.get("input_tokens", 0),
        output_tokens=c.get("output_tokens", 0),
        cached_tokens=c.get("cached_tokens", 0),
        reasoning_tokens=c.get("reasoning_tokens", 0),
        spend=nanos_to_text(cost),
        cache_savings=nanos_to_text(c.get("cache_savings_nanos", 0)),
        cost_per_request=nanos_to_text(cost // requests if requests else 0),
        cost_per_1k_tokens=nanos_to_text(cost * 1000 // tokens if tokens else 0),
    )


def breakdown(name: str, c: dict[str, int], total_cost: int) -> Breakdown:
    return Breakdown(
        name=name,
        requests=c["requests"],
        spend=nanos_to_text(c["cost_nanos"]),
        input_tokens=c["input_tokens"],
        output_tokens=c["output_tokens"],
        share_of_spend=share(c["cost_nanos"], total_cost) or "0.0000",
    )


def merge(into: dict[str, int], c: dict[str, int]) -> None:
    for name, value in c.items():
        into[name] = into.get(name, 0) + value
