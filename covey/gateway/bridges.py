"""From the caller's dialect to the provider's and back. The core picks a bridge by the pair of
dialects (never by provider): the same pair is a pass-through, a different pair translates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from covey.gateway import token_count, translation
from covey.gateway.relay import AnthropicRelay, OpenAIRelay, Relay
from covey.pricing.tokens import Tokens

Json = dict[str, Any]


class StreamConverter(Protocol):
    """Native stream events in, the caller's events out. OpenAI-side usage chunks are held back: the
    gateway sends its own, with the cost, only when the caller asked."""

    @property
    def tokens(self) -> Tokens: ...

    def feed(self, event: Json) -> list[Json]: ...

    def finish(self) -> list[Json]: ...


class OpenAIPassthrough:
    def __init__(self, model: str, _request: Json) -> None:
        self.model = model
        self.tokens = Tokens()

    def feed(self, event: Json) -> list[Json]:
        usage = event.pop("usage", None)
        if usage:
            self.tokens = Tokens.from_openai(usage)
        if not event.get("choices"):
            return []
        event["model"] = self.model
        return [event]

    def finish(self) -> list[Json]:
        return []


class AnthropicToOpenAI:
    def __init__(self, model: str, _request: Json) -> None:
        self.inner = translation.MessagesToChatStream(model)

    @property
    def tokens(self) -> Tokens:
        return self.inner.tokens

    def feed(self, event: Json) -> list[Json]:
        return self.inner.feed(event)

    def finish(self) -> list[Json]:
        return []


class AnthropicPassthrough:
    def __init__(self, model: str, _request: Json) -> None:
        self.model = model
        self.usage: Json = {}

    @property
    def tokens(self) -> Tokens:
        return Tokens.from_anthropic(self.usage)

    def feed(self, event: Json) -> list[Json]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            message["model"] = self.model
            self.usage = dict(message.get("usage") or {})
        elif kind == "message_delta":
            self.usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        return [event]

    def finish(self) -> list[Json]:
        return []


class OpenAIToAnthropic:
    def __init__(self, model: str, request: Json) -> None:
        # OpenAI reports usage only at the end; Anthropic's clients read the input tokens at the start.
        self.inner = translation.ChatToMessagesStream(model, input_estimate=token_count.input_tokens(request))

    @property
    def tokens(self) -> Tokens:
        return self.inner.tokens

    def feed(self, event: Json) -> list[Json]:
        return self.inner.feed(event)

    def finish(self) -> list[Json]:
        return self.inner.finish()


def _same(body: Json) -> Json:
    return body


@dataclass(frozen=True)
class Bridge:
    request: Callable[[Json], Json]
    response: Callable[[Json], Json]
    tokens: Callable[[Json], Tokens]
    stream: Callable[[str, Json], StreamConverter]  # (model id, the caller's request)
    # The provider's stream must be asked for usage (OpenAI dialect only sends it when asked).
    ask_stream_usage: bool
    # Caller and provider speak the same dialect: the caller's dialect headers mean the same upstream.
    passthrough: bool = False
    # The same dialect: a relay that passes the provider's event bytes on (model id → relay), used when
    # nothing rewrites the stream's text.
    relay: Callable[[str], Relay] | None = None


def _openai_tokens(resp: Json) -> Tokens:
    return Tokens.from_openai(resp.get("usage"))


def _anthropic_tokens(resp: Json) -> Tokens:
    return Tokens.from_anthropic(resp.get("usage"))


BRIDGES: dict[tuple[str, str], Bridge] = {
    ("openai", "openai"): Bridge(
        _same, _same, _openai_tokens, OpenAIPassthrough, ask_stream_usage=True, passthrough=True, relay=OpenAIRelay
    ),
    ("openai", "anthropic"): Bridge(
        translation.chat_request_to_messages,
        translation.messages_response_to_chat,
        _anthropic_tokens,
        AnthropicToOpenAI,
        ask_stream_usage=False,
    ),
    ("anthropic", "anthropic"): Bridge(
        _same,
        _same,
        _anthropic_tokens,
        AnthropicPassthrough,
        ask_stream_usage=False,
        passthrough=True,
        relay=AnthropicRelay,
    ),
    ("anthropic", "openai"): Bridge(
        translation.messages_request_to_chat,
        translation.chat_response_to_messages,
        _openai_tokens,
        OpenAIToAnthropic,
        ask_stream_usage=True,
    ),
}


def bridge(caller_dialect: str, provider_dialect: str) -> Bridge:
    return BRIDGES[(caller_dialect, provider_dialect)]
