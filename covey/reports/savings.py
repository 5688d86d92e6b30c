"""What prompt caching saved a request: its cached tokens at the full input price minus what they cost."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from covey.kit.money import to_nanos
from covey.pricing.prices import PricedModel, UnitPrices

_MILLION = Decimal(1_000_000)

# model id (`provider/model`, as recorded in `model_used`) → its unit prices, None when unknown.
PriceLookup = Callable[[str], UnitPrices | None]


def cache_savings_nanos(record: Mapping[str, Any], prices: PriceLookup | None) -> int:
    cached = int(record.get("cached_tokens") or 0)
    model = record.get("model_used")
    if not cached or not model or prices is None:
        return 0
    unit = prices(model)
    if unit is None or unit.cached_input is None or unit.cached_input >= unit.input:
        return 0
    return to_nanos(cached * (unit.input - unit.cached_input) / _MILLION)


def catalog_prices(priced: Mapping[str, PricedModel]) -> PriceLookup:
    """A lookup over the gateway's catalog, remembered per model: genai-prices lookups are not free."""
    memo: dict[str, UnitPrices | None] = {}

    def lookup(model_id: str) -> UnitPrices | None:
        if model_id not in memo:
            found = priced.get(model_id)
            memo[model_id] = found.unit_prices() if found is not None else None
        return memo[model_id]

    return lookup
