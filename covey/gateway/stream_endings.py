"""How the gateway ends a relayed stream itself: at the output cap the reservation paid for
(`StreamCut`), and with the usage chunk an OpenAI caller asked for (`usage_chunk`)."""

from __future__ import annotations

import time
from typing import Any

from covey.gateway.relay import Relay
from covey.pricing.tokens import Tokens

Json = dict[str, Any]


class StreamCut:
    """Follows what a stream sent, to end it cleanly at its paid cap: the finish reason is `length`
    (OpenAI) or `max_tokens` (Anthropic)."""

    __slots__ = ("reached",)

    def __init__(self) -> None:
        self.reached = False

    def ending(self, dialect: str, relay: Relay, model: str, n: int, tokens: Tokens) -> list[Json]:
        if dialect == "anthropic":
            out: list[Json] = []
            if relay.open_block is not None:
                out.append({"type": "content_block_stop", "index": relay.open_block})
            out.append(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                    "usage": {"output_tokens": tokens.output},
                }
            )
            out.append({"type": "message_stop"})
            return out
        return [
            {
                "id": relay.last_id or "chatcmpl-cut",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": i, "delta": {}, "finish_reason": "length"} for i in range(n)],
            }
        ]


def usage_chunk(last_id: Any, model: str, usage: Json) -> Json:
    return {
        "id": last_id or "chatcmpl-usage",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": usage,
    }
