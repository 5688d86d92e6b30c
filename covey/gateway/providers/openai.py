"""Any OpenAI-compatible upstream, named by its `base_url`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import ClassVar

from covey.config import ProviderConfig
from covey.gateway.providers.base import Json, ProviderContext
from covey.gateway.providers.http import HttpUpstream
from covey.gateway.sse import Event

OPENAI_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider:
    dialect: ClassVar[str] = "openai"

    def __init__(self, name: str, config: ProviderConfig, context: ProviderContext) -> None:
        self.name = name
        key = config.api_key
        self.upstream = HttpUpstream(
            context,
            base_url=config.base_url or OPENAI_BASE_URL,
            headers={"authorization": f"Bearer {key}"} if key else {},
            timeout=config.timeout_seconds,
        )

    async def complete(self, body: Json, headers: Mapping[str, str] | None = None) -> Json:
        return await self.upstream.post("/chat/completions", body)

    def stream(self, body: Json, headers: Mapping[str, str] | None = None) -> AsyncIterator[list[Event]]:
        return self.upstream.stream("/chat/completions", body)

    async def embed(self, body: Json) -> Json:
        return await self.upstream.post("/embeddings", body)

    async def respond(self, body: Json) -> Json:
        """OpenAI's Responses API, for an upstream configured with `responses = true`."""
        return await self.upstream.post("/responses", body)

    def stream_responses(self, body: Json) -> AsyncIterator[list[Event]]:
        return self.upstream.stream("/responses", body)
