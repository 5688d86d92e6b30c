"""Anthropic's native Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from covey.config import ProviderConfig
from covey.gateway.providers.base import Json, ProviderContext, ProviderError
from covey.gateway.providers.http import HttpUpstream

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicProvider:
    dialect: ClassVar[str] = "anthropic"

    def __init__(self, name: str, config: ProviderConfig, context: ProviderContext) -> None:
        self.name = name
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if config.api_key:
            headers["x-api-key"] = config.api_key
        self.upstream = HttpUpstream(
            context,
            base_url=config.base_url or ANTHROPIC_BASE_URL,
            headers=headers,
            timeout=config.timeout_seconds,
        )

    async def complete(self, body: Json) -> Json:
        return await self.upstream.post("/messages", body)

    def stream(self, body: Json) -> AsyncIterator[Json]:
        return self.upstream.stream("/messages", body)

    async def embed(self, body: Json) -> Json:
        raise ProviderError(400, "This provider serves no embeddings", retryable=False, origin="router")
