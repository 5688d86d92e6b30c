"""Exact cost: config overrides and genai-prices, cached and reasoning tokens priced right."""

from __future__ import annotations

from decimal import Decimal

from genai_prices import Usage, calc_price

from covey.config import PriceConfig
from covey.pricing.prices import priced_model
from covey.pricing.tokens import Tokens


def test_override_prices_are_exact_per_million() -> None:
    model = priced_model(
        model_id="x/m",
        upstream_model="m",
        price_provider=None,
        override=PriceConfig(input=Decimal("0.15"), output=Decimal("0.60"), cached_input=Decimal("0.075")),
    )
    tokens = Tokens(input=1000, output=500, cached=200)
    # 800 × 0.15 + 200 × 0.075 + 500 × 0.60, per million
    assert model.cost(tokens) == Decimal("0.000435")
    assert model.cost_nanos(tokens) == 435_000
    assert model.cost_nanos(Tokens(input=1, output=0)) == 150


def test_genai_prices_figure_with_cache_and_reasoning() -> None:
    model = priced_model(model_id="up/gpt-4o-mini", upstream_model="gpt-4o-mini", price_provider=None, override=None)
    tokens = Tokens(input=1000, output=500, cached=200, reasoning=300)
    expected = calc_price(Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=200), "gpt-4o-mini")
    # Reasoning tokens are inside the output count: priced once, as output.
    assert model.cost(tokens) == expected.total_price == Decimal("0.000435")


def test_anthropic_usage_is_normalized_to_total_input() -> None:
    tokens = Tokens.from_anthropic(
        {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 50, "cache_creation_input_tokens": 20}
    )
    assert tokens == Tokens(input=170, output=10, cached=50, cache_write=20)
    assert tokens.to_anthropic()["input_tokens"] == 100
    openai_side = Tokens.from_openai(
        {
            "prompt_tokens": 170,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 50},
            "completion_tokens_details": {"reasoning_tokens": 4},
        }
    )
    assert openai_side == Tokens(input=170, output=10, cached=50, reasoning=4)


def test_unknown_model_costs_nothing_rather_than_failing() -> None:
    model = priced_model(model_id="x/nope", upstream_model="no-such-model-xyz", price_provider=None, override=None)
    assert model.cost_nanos(Tokens(input=10, output=10)) == 0
