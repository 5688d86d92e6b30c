"""What a request may cost at most, before it is sent: the amount reserved on its hard budget lines.

Prompt tokens are bounded by the prompt's size in bytes (no tokenizer in use makes more than one
token of a byte of text); an image counts `IMAGE_TOKENS`. Output tokens are the request's output cap
— the smallest of `max_tokens`, `max_completion_tokens` and `max_output_tokens`, else
`Settings.budget_default_max_tokens` — times the choices it asks for (`n`). The gateway sends that
cap upstream and ends a stream that runs past it, so the estimate is never below what the request
can cost against an upstream that honours its cap, and concurrent requests cannot take a hard line
past its amount (docs/design.md §4). The price is the dearest model the route may use.

A request that set no cap of its own may be sent a smaller one: what the room left on its tightest
hard line pays for (`affordable_cap`), down to `MIN_OUTPUT_TOKENS` a choice; below that it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from covey.pricing.prices import PricedModel
from covey.pricing.tokens import Tokens

IMAGE_TOKENS = 2000
# The least output a request without a cap of its own is sent when its hard line has little room left.
MIN_OUTPUT_TOKENS = 1
CAP_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
# A stream's relayed text may reach this many bytes per paid output token before the gateway ends it:
# tokenizers average about four bytes of text a token, so an upstream that honours its cap ends first.
STREAM_BYTES_PER_TOKEN = 6
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


def given_cap(body: dict[str, Any]) -> int | None:
    """The smallest output cap the caller set, if any."""
    given = [
        v for v in (body.get(name) for name in CAP_FIELDS) if isinstance(v, int) and not isinstance(v, bool) and v > 0
    ]
    return min(given) if given else None


def output_cap(body: dict[str, Any], *, endpoint: str, default: int) -> int:
    """The output tokens each choice may write: the smallest cap the caller set, else `default`."""
    if endpoint == "embeddings":
        return 0
    cap = given_cap(body)
    return default if cap is None else cap


def choices(body: dict[str, Any]) -> int:
    """How many answers the request asks for (OpenAI's `n`): each may write the whole cap."""
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1


def output_tokens(body: dict[str, Any], *, endpoint: str, default: int) -> int:
    """The most output tokens the request may be billed for: its cap times its choices."""
    return output_cap(body, endpoint=endpoint, default=default) * choices(body)


# Each estimate below takes the request's `prompt_tokens` when the caller has them already (the gateway
# counts them once a request), and counts them itself otherwise.


def token_estimate(body: dict[str, Any], *, endpoint: str, default: int, prompt: int | None = None) -> int:
    """The most tokens the request may use, prompt and output: what a tokens-per-minute limit holds."""
    prompt = prompt_tokens(body) if prompt is None else prompt
    return prompt + output_tokens(body, endpoint=endpoint, default=default)


def estimate_nanos(
    body: dict[str, Any],
    *,
    endpoint: str,
    models: Iterable[PricedModel],
    default_max_tokens: int,
    prompt: int | None = None,
) -> int:
    output = output_tokens(body, endpoint=endpoint, default=default_max_tokens)
    return _dearest(list(models), prompt_tokens(body) if prompt is None else prompt, output)


def affordable_cap(
    body: dict[str, Any], *, amount: int, models: Iterable[PricedModel], most: int, prompt: int | None = None
) -> int:
    """The largest output cap per choice, from `MIN_OUTPUT_TOKENS` to `most`, whose estimate (the
    prompt counted, every choice writing the cap, at the dearest model) `amount` pays for."""
    priced, n = list(models), choices(body)
    prompt = prompt_tokens(body) if prompt is None else prompt
    low, high = MIN_OUTPUT_TOKENS, max(most, MIN_OUTPUT_TOKENS)
    while low < high:  # the cost never falls as the cap grows: the largest that fits, by halving
        middle = (low + high + 1) // 2
        if _dearest(priced, prompt, middle * n) <= amount:
            low = middle
        else:
            high = middle - 1
    return low


def _dearest(models: list[PricedModel], prompt: int, output: int) -> int:
    tokens = Tokens(input=prompt, output=output)
    return max((m.cost_nanos(tokens) for m in models), default=0)
