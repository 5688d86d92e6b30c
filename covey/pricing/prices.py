"""What a request cost: `genai-prices` data, or a per-model override from `covey.toml`, as exact Decimals
turned into integer nano-dollars."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot

from covey.config import PriceConfig
from covey.kit.money import to_nanos
from covey.pricing.tokens import Tokens

log = logging.getLogger("covey.pricing")
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None

    def per_token(self) -> dict[str, float]:
        """Requesty's `/v1/models` fields: USD per token, as JSON numbers (what its CLI decodes); the
        nearest double to the exact price, for display. Costs are computed from the exact Decimals."""
        out = {"input_price": _number(self.input), "output_price": _number(self.output)}
        if self.cached_input is not None:
            out["cached_price"] = _number(self.cached_input)
        if self.cache_write is not None:
            out["caching_price"] = _number(self.cache_write)
        return out


def _number(per_million: Decimal) -> float:
    return float(per_million / _MILLION)


def override_cost(prices: UnitPrices, tokens: Tokens) -> Decimal:
    uncached = max(tokens.input - tokens.cached - tokens.cache_write, 0)
    total = (
        uncached * prices.input
        + tokens.cached * (prices.cached_input if prices.cached_input is not None else prices.input)
        + tokens.cache_write * (prices.cache_write if prices.cache_write is not None else prices.input)
        + tokens.output * prices.output
    )
    return total / _MILLION


# Token counts no real request reaches, so a linear formula that agrees with genai-prices here agrees
# everywhere below it (tiered prices would not).
_PROBE = Tokens(input=1_234_567, output=345_678, cached=23_456, cache_write=3_456)


@dataclass(slots=True)
class PricedModel:
    """How one catalog model is priced: an override, or genai-prices for (provider, model).

    genai-prices' general calculation costs tens of microseconds; where the model's prices are flat per
    token (checked against genai-prices itself at startup), the same exact Decimal formula is used
    instead, on the hot path."""

    model_id: str
    upstream_model: str
    price_provider: str | None
    override: UnitPrices | None
    flat: UnitPrices | None = None
    # Flat prices as integer nano-dollars per million tokens: (uncached input, cached, cache write, output).
    _per_million: tuple[int, int, int, int] | None = None
    _memo: dict[Tokens, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.override is None:
            flat = self.unit_prices()
            if flat is not None and override_cost(flat, _PROBE) == self._genai_cost(_PROBE):
                self.flat = flat
        prices = self.override or self.flat
        if prices is not None:
            cached = prices.cached_input if prices.cached_input is not None else prices.input
            written = prices.cache_write if prices.cache_write is not None else prices.input
            self._per_million = (to_nanos(prices.input), to_nanos(cached), to_nanos(written), to_nanos(prices.output))

    def cost(self, tokens: Tokens) -> Decimal:
        if self.override is not None:
            return override_cost(self.override, tokens)
        if self.flat is not None:
            return override_cost(self.flat, tokens)
        return self._genai_cost(tokens)

    def _genai_cost(self, tokens: Tokens) -> Decimal:
        cost = self._memo.get(tokens)
        if cost is None:
            if len(self._memo) > 4096:
                self._memo.clear()
            cost = self._memo[tokens] = self._calc(tokens)
        return cost

    def _calc(self, tokens: Tokens) -> Decimal:
        try:
            calc = calc_price(
                Usage(
                    input_tokens=tokens.input,
                    output_tokens=tokens.output,
                    cache_read_tokens=tokens.cached or None,
                    cache_write_tokens=tokens.cache_write or None,
                ),
                self.upstream_model,
                provider_id=self.price_provider,
            )
        except LookupError:
            return Decimal(0)
        return calc.total_price

    def cost_nanos(self, tokens: Tokens) -> int:
        if self._per_million is None:
            return to_nanos(self.cost(tokens))
        # Exact integer arithmetic, rounded half to even like `to_nanos`: the hot path's version of `cost`.
        uncached = max(tokens.input - tokens.cached - tokens.cache_write, 0)
        p_in, p_cached, p_written, p_out = self._per_million
        total = uncached * p_in + tokens.cached * p_cached + tokens.cache_write * p_written + tokens.output * p_out
        quotient, remainder = divmod(total, 1_000_000)
        if remainder > 500_000 or (remainder == 500_000 and quotient % 2):
            quotient += 1
        return quotient

    def unit_prices(self) -> UnitPrices | None:
        if self.override is not None:
            return self.override
        try:
            _provider, model = get_snapshot().find_provider_model(self.upstream_model, None, self.price_provider, None)
        except LookupError:
            return None
        prices: Any = model.get_prices(datetime.now(UTC))
        tiers = (getattr(prices, "input_mtok", None), getattr(prices, "output_mtok", None))
        if not all(isinstance(p, Decimal) for p in tiers):
            return None  # tiered prices: no single figure to show
        cached = getattr(prices, "cache_read_mtok", None)
        written = getattr(prices, "cache_write_mtok", None)
        return UnitPrices(
            input=tiers[0],  # type: ignore[arg-type]
            output=tiers[1],  # type: ignore[arg-type]
            cached_input=cached if isinstance(cached, Decimal) else None,
            cache_write=written if isinstance(written, Decimal) else None,
        )

    def described(self) -> tuple[str | None, int | None]:
        """The model's display name and context window, where genai-prices knows them."""
        try:
            _provider, model = get_snapshot().find_provider_model(self.upstream_model, None, self.price_provider, None)
        except LookupError:
            return None, None
        return model.name, model.context_window

    def is_priced(self) -> bool:
        if self.override is not None:
            return True
        try:
            get_snapshot().find_provider_model(self.upstream_model, None, self.price_provider, None)
        except LookupError:
            return False
        return True


def priced_model(
    *, model_id: str, upstream_model: str, price_provider: str | None, override: PriceConfig | None
) -> PricedModel:
    unit = (
        UnitPrices(
            input=override.input,
            output=override.output,
            cached_input=override.cached_input,
            cache_write=override.cache_write,
        )
        if override is not None
        else None
    )
    model = PricedModel(model_id=model_id, upstream_model=upstream_model, price_provider=price_provider, override=unit)
    if not model.is_priced():
        log.warning("no price known for %s: its requests are recorded at zero cost", model_id)
    return model
