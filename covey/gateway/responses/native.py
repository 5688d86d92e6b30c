"""A Responses request sent as it came to an upstream that serves the Responses API itself
(`native_request`), and its stream relayed (`NativeRelay`).

The request keeps every field the caller sent; Covey sets only the model, the output cap the
reservation paid for (docs/design.md §4) and `store: false`: Covey keeps the responses it answers
(`covey.response_store`), so a later request may continue one whichever upstream serves it. The
relay passes each event's own bytes on, except those carrying the whole response, which are made
Covey's (its id, model, `store`); the closing event is held back, so the gateway sends it with the
usage it charged, or the one it makes when it ends the stream at its paid cap.
"""

from __future__ import annotations

from typing import Any

from covey.gateway.providers.base import ProviderError
from covey.gateway.responses.answer import stamp
from covey.gateway.responses.request import Front
from covey.gateway.sse import Event, frame
from covey.pricing.tokens import Tokens

Json = dict[str, Any]

CLOSING = ("response.completed", "response.incomplete")


def native_request(request: Json, *, upstream_model: str, cap: int | None, stream: bool) -> Json:
    body = {**request, "model": upstream_model, "store": False}
    if cap is not None:
        body["max_output_tokens"] = cap
    if stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
    return body


def answer_tokens(response: Json) -> Tokens:
    """What a Response reports it used: input (cached included), output (reasoning included)."""
    return Tokens.from_responses(response.get("usage"))


class NativeRelay:
    """Responses events from an upstream that serves them, to a caller of the Responses API: the
    response they carry is Covey's (`stamp`: its id, model, whether it is stored)."""

    def __init__(self, model: str, front: Front) -> None:
        self.model = model
        self.front = front
        self.tokens = Tokens()
        self.streamed = 0
        self.last_id: Any = None
        self.open_block: int | None = None
        self.snapshot: Json = {}  # the response as its last `response.created`/`in_progress` showed it
        self.items: list[Json] = []  # output items finished so far
        self.closing: Json | None = None
        self.sequence = 0

    def feed(self, event: Event) -> bytes:
        data = event.data
        kind = data.get("type")
        sequence = data.get("sequence_number")
        if isinstance(sequence, int) and not isinstance(sequence, bool):
            self.sequence = sequence
        delta = data.get("delta")
        if isinstance(delta, str) and isinstance(kind, str) and kind.endswith(".delta"):
            self.streamed += len(delta.encode())
        elif kind == "response.output_item.done" and isinstance(data.get("item"), dict):
            self.items.append(data["item"])
        response = data.get("response")
        if not isinstance(response, dict):
            return event.frame
        response["model"] = self.model
        stamp(response, self.front)
        if kind in CLOSING:
            self.tokens = answer_tokens(response)
            self.closing = data
            return b""
        if kind == "response.failed":
            error = response.get("error")
            message = error.get("message") if isinstance(error, dict) else None
            raise ProviderError(502, str(message or "the provider's response failed"), retryable=False)
        self.snapshot = response
        return frame(data, str(kind))

    def finish(self) -> list[Json]:
        """The upstream's closing event; or, when the stream ended before it (at its paid cap), one
        made of what was sent, `incomplete`."""
        if self.closing is not None:
            return [self.closing]
        response = {**self.snapshot, "model": self.model, "output": self.items, "status": "incomplete"}
        stamp(response, self.front)
        return [{"type": "response.incomplete", "sequence_number": self.sequence + 1, "response": response}]
