"""Raw ASGI for the hot path: reading a bounded body, answering JSON or SSE, noticing a client leave.
The gateway endpoints skip FastAPI's per-request machinery; the management API keeps it."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive, Send

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


async def read_body(receive: Receive, limit: int, declared: int | None) -> bytes:
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


Headers = list[tuple[bytes, bytes]]


async def send_json(send: Send, status: int, body: bytes, headers: Headers | None = None) -> None:
    """`headers` adds to the content type (rate-limit headers, `Retry-After`)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": JSON_HEADERS + headers if headers else JSON_HEADERS,
        }
    )
    await send({"type": "http.response.body", "body": body})


async def start_sse(send: Send, headers: Headers | None = None) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": SSE_HEADERS + headers if headers else SSE_HEADERS}
    )


async def send_chunk(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def end_body(send: Send, last: bytes = b"") -> None:
    """Ends the body: its `last` bytes and the end in one message, so in one write."""
    await send({"type": "http.response.body", "body": last})


class DisconnectWatch:
    """Cancels the request's task when the client goes away, so the upstream call is dropped too.

    Used as `with DisconnectWatch(receive) as watch:`; `watch.gone` tells a cancellation we caused
    apart from one the server caused (a shutdown)."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.gone = False
        self._task: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[Any] | None = None

    async def _watch(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                if self._owner is not None:
                    self._owner.cancel()
                return

    def __enter__(self) -> DisconnectWatch:
        self._owner = asyncio.current_task()
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        if self.gone and self._owner is not None:
            self._owner.uncancel()
