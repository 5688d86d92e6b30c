"""Calling an HTTP upstream: JSON posts, SSE streams, and the mapping of failures to Requesty's errors."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from covey.gateway.providers.base import Json, ProviderContext, ProviderError
from covey.gateway.providers.httpclient import Endpoint, StreamedBody, UpstreamConnectionError
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

    def stream(self, path: str, body: Json, headers: Mapping[str, str] | None = None) -> UpstreamEvents:
        """The stream's events, in batches of those that arrived together, until `[DONE]` or the end of
        the answer. A silence longer than the timeout ends it."""
        return UpstreamEvents(self.endpoint, path, orjson.dumps(body), headers, self.timeout)


class UpstreamEvents:
    """An upstream's SSE answer as batches of events (`list[Event]`), async-iterated; the request is sent
    when the first batch is asked for. `ended` once the answer is complete and every event was handed
    out, so a relay can send the last batch with the stream's end. Failures are `ProviderError`s; one
    before the first batch (a refusal, an unreachable upstream) fails the call; an error event the
    upstream sent is raised when the batch after the events before it is asked for."""

    __slots__ = ("_body", "_endpoint", "_error", "_headers", "_parser", "_path", "_request", "_timeout", "ended")

    def __init__(
        self, endpoint: Endpoint, path: str, request: bytes, headers: Mapping[str, str] | None, timeout: float
    ) -> None:
        self._endpoint = endpoint
        self._path = path
        self._request = request
        self._headers = headers
        self._timeout = timeout
        self._body: StreamedBody | None = None
        self._parser = Parser()
        self._error: ProviderError | None = None
        self.ended = False

    def __aiter__(self) -> UpstreamEvents:
        return self

    async def __anext__(self) -> list[Event]:
        try:
            return await self._next()
        except (StopAsyncIteration, ProviderError):
            raise
        except MalformedEvent:
            failure = _bad_format()
        except TimeoutError:
            failure = ProviderError.timeout()
        except UpstreamConnectionError as exc:
            failure = ProviderError.unreachable(str(exc))
        await self.aclose()
        raise failure

    async def _next(self) -> list[Event]:
        if self._error is not None:
            error, self._error = self._error, None
            await self.aclose()
            raise error
        if self.ended:
            raise StopAsyncIteration
        body = self._body
        if body is None:
            status, body = await self._endpoint.stream(
                self._path, self._request, read_timeout=self._timeout, headers=self._headers
            )
            self._body = body
            if status >= 400:
                detail = _detail(b"".join([c async for c in body]))
                self.ended = True
                raise ProviderError.from_upstream(status, detail)
        parser = self._parser
        while True:
            try:
                chunk: bytes | None = await anext(body)
            except StopAsyncIteration:
                chunk = None
            # After `[DONE]` it reads on to the end of the answer, so the connection is reused.
            events = parser.feed(chunk) if chunk is not None else []
            if chunk is None or body.done:
                events += parser.close()
                self.ended = True
            events = self._split_at_error(events)
            if events:
                return events
            if self._error is not None:
                return await self._next()
            if self.ended:
                raise StopAsyncIteration

    def _split_at_error(self, events: list[Event]) -> list[Event]:
        """The events before the upstream's error event, if it sent one (kept to raise next)."""
        for n, event in enumerate(events):
            data = event.data
            if data.get("type") == "error" or data.get("error"):
                error = data.get("error") or {}
                message = error.get("message") if isinstance(error, dict) else str(error)
                self._error = ProviderError(502, str(message or "provider stream error"), retryable=True)
                self.ended = False
                return events[:n]
        return events

    async def aclose(self) -> None:
        """Hangs up on the upstream unless its answer was read whole."""
        self.ended = True
        if self._body is not None:
            await self._body.aclose()
