"""Anthropic's native Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import ClassVar

from covey.config import ProviderConfig
from covey.gateway.providers.base import Json, ProviderContext, ProviderError
from covey.gateway.providers.http import HttpUpstream
from covey.gateway.sse import Event

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider:
    dialect: ClassVar[str] = "anthropic"

    def __init__(self, name: str, config: ProviderConfig, context: ProviderContext) -> None:
        self.name = name
        headers = {"x-api-key": config.api_key} if config.api_key else {}
        self.upstream = HttpUpstream(
            context,
            base_url=config.base_url or ANTHROPIC_BASE_URL,
            headers=headers,
            timeout=config.timeout_seconds,
        )

    async def complete(self, body: Json, headers: Mapping[str, str] | None = None) -> Json:
        return await self.upstream.post("/messages", body, _headers(headers))

    def stream(self, body: Json, headers: Mapping[str, str] | None = None) -> AsyncIterator[list[Event]]:
        return self.upstream.stream("/messages", body, _headers(headers))

    async def embed(self, body: Json) -> Json:
        raise ProviderError(400, "This provider serves no embeddings", retryable=False, origin="router")


def _headers(given: Mapping[str, str] | None) -> dict[str, str]:
    """The API version (the caller's, else ours) and any betas the caller asked for."""
    headers = {"anthropic-version": ANTHROPIC_VERSION}
    for name, value in (given or {}).items():
        if name in ("anthropic-version", "anthropic-beta"):
            headers[name] = value
    return headers
