"""What a request may cost at most, before it is sent: the amount reserved on its hard budget lines.

Prompt tokens are bounded by the prompt's size in bytes (no tokenizer in use makes more than one
token of a byte of text); an image counts `IMAGE_TOKENS`. Output tokens are the request's `max_tokens`
(or `max_completion_tokens`), else `Settings.budget_default_max_tokens`. The price is the dearest
model the route may use. With `max_tokens` set, the estimate is never below the real cost, so
concurrent requests cannot take a hard line past its amount; without it, by at most the tokens the
answer runs past the default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from covey.pricing.prices import PricedModel
from covey.pricing.tokens import Tokens

IMAGE_TOKENS = 2000
# Role markers and separators the chat templates add around each message.
PER_MESSAGE_TOKENS = 8
_PROMPT_FIELDS = ("messages", "system", "tools", "functions", "input", "prompt", "tool_choice", "response_format")


def _size(value: Any) -> int:
    if isinstance(value, str):
        if value.startswith("data:"):  # an inline image or file: its encoded bytes are not its tokens
            return IMAGE_TOKENS
        return len(value.encode())
    if isinstance(value, dict):
        if value.get("type") in ("image_url", "image", "input_image"):
            return IMAGE_TOKENS
        return sum(_size(k) + _size(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return len(str(value)) if value is not None else 0


def prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    count = len(messages) if isinstance(messages, list) else 1
    return sum(_size(body.get(name)) for name in _PROMPT_FIELDS) + PER_MESSAGE_TOKENS * count


def output_tokens(body: dict[str, Any], *, endpoint: str, default: int) -> int:
    if endpoint == "embeddings":
        return 0
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return default


def estimate_nanos(
    body: dict[str, Any], *, endpoint: str, models: Iterable[PricedModel], default_max_tokens: int
) -> int:
    tokens = Tokens(
        input=prompt_tokens(body), output=output_tokens(body, endpoint=endpoint, default=default_max_tokens)
    )
    return max((m.cost_nanos(tokens) for m in models), default=0)
