"""Relaying a provider's stream to the caller, one event at a time: the caller's bytes out, and what the
gateway must see kept aside (usage, finish reason, bytes of text relayed, an Anthropic block still open).

When the caller speaks the provider's dialect and nothing rewrites text (no guardrails, no Responses
front), `OpenAIRelay` and `AnthropicRelay` pass each event's own bytes on: its data was parsed once (in
C) to be read, and is serialized again only for the rare event that must change (Anthropic's
`message_start`, which names the model; an OpenAI chunk whose `model` cannot be renamed in place, or
that carries usage). Otherwise `Converted` runs the bridge's `StreamConverter` (translation, masking,
Responses events) and serializes what it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from covey.gateway.sse import Event
from covey.pricing.tokens import Tokens

if TYPE_CHECKING:  # bridges name the relays; a relay only wraps a bridge's converter
    from covey.gateway.bridges import StreamConverter

Json = dict[str, Any]

# Fields of a streamed delta (OpenAI's and Anthropic's shapes) that carry generated text.
TEXT_FIELDS = frozenset(("content", "text", "arguments", "partial_json", "thinking", "reasoning_content", "refusal"))


class Relay(Protocol):
    streamed: int  # bytes of generated text relayed to the caller
    last_id: Any  # the id of the last OpenAI chunk relayed (for the chunks the gateway adds)
    open_block: int | None  # Anthropic: the index of the content block still open

    @property
    def tokens(self) -> Tokens: ...

    def feed(self, event: Event) -> bytes:
        """The bytes to send the caller for this event (empty: nothing)."""
        ...

    def finish(self) -> list[Json]:
        """The events the caller is still owed once the provider's stream ended well."""
        ...


def text_bytes(value: Any) -> int:
    """Bytes of generated text in events, deltas or content blocks."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, v in item.items():
                if isinstance(v, str):
                    if key in TEXT_FIELDS:
                        total += len(v) if v.isascii() else len(v.encode())
                elif isinstance(v, (dict, list)):
                    pending.append(v)
        elif isinstance(item, list):
            pending.extend(item)
    return total


def openai_frame(event: Json) -> bytes:
    return b"data: " + orjson.dumps(event) + b"\n\n"


def anthropic_frame(event: Json) -> bytes:
    return b"event: " + str(event.get("type", "message")).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class OpenAIRelay:
    """OpenAI chunks to an OpenAI caller: each chunk's bytes, with `model` renamed to Covey's id. Usage
    is read and held back (the gateway sends its own, with the cost, when the caller asked)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.tokens = Tokens()
        self.streamed = 0
        self.last_id: Any = None
        self.open_block: int | None = None
        self._renamed = b'"model":' + orjson.dumps(model)
        self._upstream_model: Any = model
        self._needle = self._renamed

    def feed(self, event: Event) -> bytes:
        data = event.data
        usage = data.get("usage")
        if usage:
            self.tokens = Tokens.from_openai(usage)
        choices = data.get("choices")
        if not choices or not isinstance(choices, list):
            return b""
        self.last_id = data.get("id")
        for choice in choices:
            if isinstance(choice, dict):
                self.streamed += text_bytes(choice.get("delta"))
        upstream_model = data.get("model")
        if upstream_model != self._upstream_model:
            self._upstream_model = upstream_model
            self._needle = b'"model":' + orjson.dumps(upstream_model)
        if not usage and self._needle in event.frame:
            if self._needle is self._renamed:
                return event.frame
            return event.frame.replace(self._needle, self._renamed, 1)
        data.pop("usage", None)
        data["model"] = self.model
        return openai_frame(data)

    def finish(self) -> list[Json]:
        return []


class AnthropicRelay:
    """Anthropic events to an Anthropic caller: each event's bytes; `message_start` names Covey's model."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage: Json = {}
        self.streamed = 0
        self.last_id: Any = None
        self.open_block: int | None = None

    @property
    def tokens(self) -> Tokens:
        return Tokens.from_anthropic(self.usage)

    def feed(self, event: Event) -> bytes:
        data = event.data
        kind = data.get("type")
        if kind == "content_block_delta":
            self.streamed += text_bytes(data.get("delta"))
        elif kind == "content_block_start":
            self.streamed += text_bytes(data.get("content_block"))
            index = data.get("index")
            self.open_block = index if isinstance(index, int) else 0
        elif kind == "content_block_stop":
            self.open_block = None
        elif kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                message["model"] = self.model
                usage = message.get("usage")
                self.usage = dict(usage) if isinstance(usage, dict) else {}
            return anthropic_frame(data)
        elif kind == "message_delta":
            usage = data.get("usage")
            if isinstance(usage, dict):
                self.usage.update({k: v for k, v in usage.items() if v is not None})
        return event.frame

    def finish(self) -> list[Json]:
        return []


class Converted:
    """Any `StreamConverter` (a translation, masking, Responses events) as a relay: its events framed."""

    def __init__(
        self,
        converter: StreamConverter,
        frame: Callable[[Json], bytes],
        measure: Callable[[list[Json]], int] = text_bytes,
    ) -> None:
        self.converter = converter
        self.frame = frame
        self.measure = measure
        self.streamed = 0
        self.last_id: Any = None
        self.open_block: int | None = None

    @property
    def tokens(self) -> Tokens:
        return self.converter.tokens

    def feed(self, event: Event) -> bytes:
        out = self.converter.feed(event.data)
        if not out:
            return b""
        self.streamed += self.measure(out)
        for e in out:
            kind = e.get("type")
            if kind == "content_block_start":
                index = e.get("index")
                self.open_block = index if isinstance(index, int) else 0
            elif kind == "content_block_stop":
                self.open_block = None
        self.last_id = out[-1].get("id", self.last_id)
        frame = self.frame
        return frame(out[0]) if len(out) == 1 else b"".join([frame(e) for e in out])

    def finish(self) -> list[Json]:
        return self.converter.finish()
