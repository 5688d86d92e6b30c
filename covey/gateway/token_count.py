"""An estimate of a request's input tokens, for `POST /v1/messages/count_tokens` and for the
`message_start` event of a stream whose upstream reports usage only at its end.

No tokenizer is shipped: about four bytes of the request's text (system, messages, tools) make a
token, which is what common tokenizers average on English and code. The usage records always carry
what the upstream reported, never this estimate."""

from __future__ import annotations

import math
from typing import Any

import orjson

from covey.budgets.estimate import IMAGE_TOKENS

_COUNTED = ("system", "messages", "tools", "tool_choice")


def _images(value: Any) -> int:
    if isinstance(value, dict):
        if value.get("type") in ("image", "image_url", "input_image"):
            return 1
        return sum(_images(v) for v in value.values())
    if isinstance(value, list):
        return sum(_images(v) for v in value)
    return 0


def input_tokens(body: dict[str, Any]) -> int:
    parts = {name: body[name] for name in _COUNTED if body.get(name) is not None}
    images = _images(parts)
    return math.ceil(len(orjson.dumps(parts)) / 4) + images * (IMAGE_TOKENS // 2)
