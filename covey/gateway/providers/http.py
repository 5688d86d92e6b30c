"""Calling an HTTP upstream: JSON posts, SSE streams, and the mapping of failures to Requesty's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import aclosing

import orjson

from covey.gateway.providers.base import Json, ProviderContext, ProviderError
from covey.gateway.providers.httpclient import UpstreamConnectionError
from covey.gateway.sse import Event, MalformedEvent, Parser


def _detail(raw: bytes) -> str:
    """The upstream's own error message, from either dialect's envelope, or the raw text."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace")[:500]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return raw.decode(errors="replace")[:500]


def _bad_format() -> ProviderError:
    return ProviderError(424, "Invalid provider response format", retryable=True, origin="router")


class HttpUpstream:
    def __init__(self, context: ProviderContext, *, base_url: str, headers: dict[str, str], timeout: float) -> None:
        self.endpoint = context.endpoint(base_url, {"Content-Type": "application/json", **headers})
        self.timeout = timeout

    async def post(self, path: str, body: Json, headers: Mapping[str, str] | None = None) -> Json:
        try:
            response = await self.endpoint.post(path, orjson.dumps(body), timeout=self.timeout, headers=headers)
        except TimeoutError:
            raise ProviderError.timeout() from None
        except UpstreamConnectionError as exc:
            raise ProviderError.unreachable(str(exc)) from None
        if response.status >= 400:
            raise ProviderError.from_upstream(response.status, _detail(response.body))
        try:
            data = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            raise _bad_format() from None
        if not isinstance(data, dict):
            raise _bad_format()
        return data

    async def stream(
        self, path: str, body: Json, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[list[Event]]:
        """The stream's events, in batches of those that arrived together, until `[DONE]` or the end of
        the answer. A silence longer than the timeout ends it."""
        try:
            status, chunks = await self.endpoint.stream(
                path, orjson.dumps(body), read_timeout=self.timeout, headers=headers
            )
            async with aclosing(chunks):
                if status >= 400:
                    raise ProviderError.from_upstream(status, _detail(b"".join([c async for c in chunks])))
                parser = Parser()
                async for chunk in chunks:
                    # After `[DONE]` it reads on to the end of the answer, so the connection is reused.
                    for events in _split_at_error(parser.feed(chunk)):
                        yield events
                for events in _split_at_error(parser.close()):
                    yield events
        except MalformedEvent:
            raise _bad_format() from None
        except TimeoutError:
            raise ProviderError.timeout() from None
        except UpstreamConnectionError as exc:
            raise ProviderError.unreachable(str(exc)) from None


def _split_at_error(events: list[Event]) -> Iterator[list[Event]]:
    """The events; if the upstream sent its error event, those before it, then its failure raised
    when the next batch is asked for (what came first is still relayed)."""
    for n, event in enumerate(events):
        data = event.data
        if data.get("type") == "error" or data.get("error"):
            if n:
                yield events[:n]
            error = data.get("error") or {}
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise ProviderError(502, str(message or "provider stream error"), retryable=True)
    if events:
        yield events
