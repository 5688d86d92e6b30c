"""The one interface every provider implements, and the registry built-ins and plugins add kinds to.

A provider speaks one wire dialect natively (`openai` chat completions or `anthropic` messages); the
gateway translates a request into that dialect and the answer back, so the core never asks which
provider it is talking to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar, Protocol

from covey.config import ProviderConfig
from covey.gateway.providers.httpclient import Endpoint
from covey.gateway.sse import Event

Json = dict[str, Any]

# Upstream statuses worth another try (Requesty §3.5): rate limits and server-side failures.
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class ProviderError(Exception):
    """An upstream failure, already mapped to the status and message Covey answers with (Requesty §2.5)."""

    def __init__(self, status: int, message: str, *, retryable: bool, origin: str = "provider") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retryable = retryable
        self.origin = origin

    @classmethod
    def from_upstream(cls, status: int, detail: str) -> ProviderError:
        if status == 429:
            return cls(429, "Too many requests", retryable=True)
        if status == 529:
            return cls(529, "overloaded", retryable=True)
        if status >= 500:
            return cls(502, f"Provider is down: {detail or 'Bad Gateway'}", retryable=True)
        if status in (401, 403):
            # The provider refused *our* credentials: the caller cannot fix that, so it is a gateway error.
            return cls(502, f"Provider refused the gateway's credentials: {detail}", retryable=False)
        return cls(status, detail or "Provider rejected the request", retryable=status in RETRYABLE_STATUSES)

    @classmethod
    def timeout(cls) -> ProviderError:
        return cls(503, "The provider timed out, please try again", retryable=True, origin="router")

    @classmethod
    def unreachable(cls, detail: str) -> ProviderError:
        return cls(502, f"Provider is down: {detail or 'Bad Gateway'}", retryable=True)


class Provider(Protocol):
    """One configured upstream. Bodies are in the provider's own `dialect`, with `model` already set to
    the upstream's model name. `headers` are the caller's own headers of that dialect (Anthropic's
    `anthropic-version` and `anthropic-beta`), given only when the caller speaks the provider's dialect:
    a provider sends them on, over its defaults."""

    dialect: ClassVar[str]

    async def complete(self, body: Json, headers: Mapping[str, str] | None = None) -> Json: ...

    def stream(self, body: Json, headers: Mapping[str, str] | None = None) -> AsyncIterator[list[Event]]:
        """The stream's events (OpenAI chunks, or Anthropic events with their `type`), each with the
        bytes it arrived as; a batch is what arrived together, so the relay can send it in one write."""
        ...

    async def embed(self, body: Json) -> Json: ...


class ResponsesProvider(Provider, Protocol):
    """A provider whose upstream also serves OpenAI's Responses API: bodies in that API's shape."""

    async def respond(self, body: Json) -> Json: ...

    def stream_responses(self, body: Json) -> AsyncIterator[list[Event]]: ...


class ProviderContext:
    """What the gateway lends providers: pooled HTTP connections to their upstreams, closed at shutdown."""

    def __init__(self) -> None:
        self._endpoints: list[Endpoint] = []

    def endpoint(self, base_url: str, headers: dict[str, str]) -> Endpoint:
        made = Endpoint(base_url, headers)
        self._endpoints.append(made)
        return made

    def close(self) -> None:
        for endpoint in self._endpoints:
            endpoint.close()


ProviderFactory = Callable[[str, ProviderConfig, ProviderContext], Provider]


class ProviderRegistry:
    """`kind` → factory. Built-ins register the same way a plugin's `covey.providers` entry point does."""

    def __init__(self) -> None:
        self._factories: dict[str, ProviderFactory] = {}

    def register(self, kind: str, factory: ProviderFactory) -> None:
        self._factories[kind] = factory

    def kinds(self) -> list[str]:
        return sorted(self._factories)

    def build(self, name: str, config: ProviderConfig, context: ProviderContext) -> Provider:
        try:
            factory = self._factories[config.kind]
        except KeyError:
            raise ValueError(f"provider {name!r}: unknown kind {config.kind!r} (known: {self.kinds()})") from None
        return factory(name, config, context)
