"""The reservation estimate: never below what the request can cost when it sets max_tokens."""

from __future__ import annotations

from decimal import Decimal

from covey.budgets.estimate import IMAGE_TOKENS, estimate_nanos, output_tokens, prompt_tokens
from covey.config import PriceConfig
from covey.gateway.providers.mock import chat_completion
from covey.pricing.prices import priced_model
from covey.pricing.tokens import Tokens

CHEAP = priced_model(
    model_id="m/cheap",
    upstream_model="cheap",
    price_provider=None,
    override=PriceConfig(input=Decimal(1), output=Decimal(2)),
)
DEAR = priced_model(
    model_id="m/dear",
    upstream_model="dear",
    price_provider=None,
    override=PriceConfig(input=Decimal(10), output=Decimal(30)),
)


def test_output_is_max_tokens_or_the_default_cap() -> None:
    assert output_tokens({"max_tokens": 64}, endpoint="chat", default=4096) == 64
    assert output_tokens({"max_completion_tokens": 10, "max_tokens": 64}, endpoint="chat", default=4096) == 10
    assert output_tokens({}, endpoint="chat", default=4096) == 4096
    assert output_tokens({"max_tokens": True}, endpoint="chat", default=4096) == 4096
    assert output_tokens({"max_tokens": 64}, endpoint="embeddings", default=4096) == 0


def test_prompt_bytes_bound_the_prompt_tokens_and_images_count_a_fixed_amount() -> None:
    text = "héllo wörld " * 50
    body = {"messages": [{"role": "user", "content": text}]}
    assert prompt_tokens(body) >= len(text.encode())
    image = {
        "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:" + "A" * 10**6}}]}]
    }
    assert IMAGE_TOKENS <= prompt_tokens(image) < IMAGE_TOKENS + 100


def test_the_dearest_route_is_reserved_and_never_less_than_the_real_cost() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "tell me a story " * 20}], "max_tokens": 200}
    answer = chat_completion({**body, "model": "cheap"})
    real = Tokens.from_openai(answer["usage"])
    assert real.output <= 200
    estimate = estimate_nanos(body, endpoint="chat", models=[CHEAP, DEAR], default_max_tokens=4096)
    assert estimate == estimate_nanos(body, endpoint="chat", models=[DEAR], default_max_tokens=4096)
    assert estimate >= DEAR.cost_nanos(real) >= CHEAP.cost_nanos(real)
