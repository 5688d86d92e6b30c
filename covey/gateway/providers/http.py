"""Calling an HTTP upstream with the shared aiohttp client: JSON posts, SSE streams, error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson

from covey.gateway.providers.base import Json, ProviderError


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


class HttpUpstream:
    def __init__(self, http: aiohttp.ClientSession, *, base_url: str, headers: dict[str, str], timeout: float) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.headers = {"content-type": "application/json", **headers}
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # A stream may run long; only a silence longer than the timeout ends it.
        self.stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)

    async def post(self, path: str, body: Json) -> Json:
        try:
            async with self.http.post(
                self.base_url + path, data=orjson.dumps(body), headers=self.headers, timeout=self.timeout
            ) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise ProviderError.from_upstream(resp.status, _detail(raw))
        except TimeoutError:
            raise ProviderError.timeout() from None
        except aiohttp.ClientError as exc:
            raise ProviderError.unreachable(str(exc) or type(exc).__name__) from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ProviderError(424, "Invalid provider response format", retryable=True, origin="router") from None
        if not isinstance(data, dict):
            raise ProviderError(424, "Invalid provider response format", retryable=True, origin="router")
        return data

    async def stream(self, path: str, body: Json) -> AsyncIterator[Json]:
        """Each SSE `data:` payload, parsed; ends at `[DONE]` or when the upstream closes."""
        try:
            async with self.http.post(
                self.base_url + path, data=orjson.dumps(body), headers=self.headers, timeout=self.stream_timeout
            ) as resp:
                if resp.status >= 400:
                    raise ProviderError.from_upstream(resp.status, _detail(await resp.read()))
                async for line in resp.content:
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        return
                    if payload:
                        event = orjson.loads(payload)
                        if not isinstance(event, dict):
                            continue
                        if event.get("type") == "error" or event.get("error"):
                            error = event.get("error") or {}
                            raise ProviderError(
                                502, str(error.get("message") or "provider stream error"), retryable=True
                            )
                        yield event
        except TimeoutError:
            raise ProviderError.timeout() from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise ProviderError.unreachable(str(exc) or type(exc).__name__) from None
        except orjson.JSONDecodeError:
            raise ProviderError(424, "Invalid provider response format", retryable=True, origin="router") from None
