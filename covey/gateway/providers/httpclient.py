"""A small keep-alive HTTP/1.1 client for calling upstreams: asyncio protocol + httptools' parser.

The hot path makes one upstream call per request; a general-purpose client spends more time on its
own bookkeeping than the gateway spends on everything else, so this one does only what the gateway
needs: POST a JSON body, read the whole answer or stream it, reuse connections, honour timeouts,
and drop the connection when the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools


class UpstreamConnectionError(Exception):
    """The connection failed or closed before a complete answer arrived."""


# A streamed answer's bytes held for a reader that has not taken them yet, past which the connection
# stops reading: a slow caller slows its own upstream (TCP backpressure), never the process.
STREAM_BUFFER_BYTES = 64 * 1024
# Idle connections kept per upstream: as many as there can be streams open at once, so thousands of
# concurrent streams reuse their connections rather than open (and leave in TIME_WAIT) one each.
MAX_IDLE = 8192


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.paused = False
        self._reset()

    def _reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.limit: int | None = None  # bytes held before reading pauses; None while answers are read whole
        self.headers_done = False
        self.keep_alive = False
        self.complete = False
        self.received = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamConnectionError(f"malformed response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete:
            self._fail(UpstreamConnectionError(str(exc) if exc else "connection closed by the upstream"))

    # httptools callbacks

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        # Asked here: once the message is complete the parser no longer knows.
        self.keep_alive = self.parser.should_keep_alive()
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.limit is not None and self.buffered > self.limit and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # ----

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        self.error = exc
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def arm(self, seconds: float) -> None:
        """Fails the wait in progress (and every later one) with TimeoutError after `seconds`."""
        self.disarm()
        self.timer = self.loop.call_later(seconds, self._fail, TimeoutError())

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    async def wait(self) -> None:
        if self.error is not None:
            raise self.error
        self.waiter = self.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def take(self) -> bytes:
        """Everything received and not yet taken, as one piece; reading resumes if it had paused."""
        data = self.chunks.popleft() if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        if self.paused and not self.closed and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    def send(self, data: bytes) -> None:
        self._reset()
        assert self.transport is not None
        self.transport.write(data)

    @property
    def reusable(self) -> bool:
        return self.complete and not self.closed and self.keep_alive

    def close(self) -> None:
        self.closed = True
        self.disarm()
        if self.transport is not None:
            self.transport.abort()


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class Endpoint:
    """One upstream base URL: a pool of idle connections to it and the request head it always sends."""

    def __init__(self, base_url: str, headers: dict[str, str], *, max_idle: int = MAX_IDLE) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self.host = parts.hostname or "localhost"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path
        default_port = self.port == (443 if self.tls else 80)
        host_header = self.host if default_port else f"{self.host}:{self.port}"
        lines = [f"Host: {host_header}", "Connection: keep-alive"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self.ssl = ssl.create_default_context() if self.tls else None
        self.idle: deque[_Connection] = deque()
        self.max_idle = max_idle

    def _request_bytes(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1") if headers else b""
        return (
            f"POST {self.prefix}{path} HTTP/1.1\r\n".encode("latin-1")
            + self.head
            + extra
            + b"Content-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    async def _connect(self, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            transport, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.tls else None,
                ),
                timeout,
            )
        except OSError as exc:
            raise UpstreamConnectionError(str(exc) or type(exc).__name__) from None
        conn.transport = transport
        return conn

    async def _start(
        self, path: str, body: bytes, timeout: float, headers: Mapping[str, str] | None = None
    ) -> _Connection:
        """Sends the request and waits for the response head, with `timeout` armed on the connection.
        A kept-alive connection the upstream closed meanwhile is retried once on a fresh one: nothing
        of the request was answered."""
        data = self._request_bytes(path, body, headers)
        while self.idle:
            conn = self.idle.pop()
            if conn.closed:
                continue
            conn.send(data)
            conn.arm(timeout)
            try:
                await self._head(conn)
            except UpstreamConnectionError:
                if conn.received:
                    raise
                conn.close()
                break
            return conn
        conn = await self._connect(timeout)
        conn.send(data)
        conn.arm(timeout)
        await self._head(conn)
        return conn

    async def _head(self, conn: _Connection) -> None:
        try:
            while not conn.headers_done:
                await conn.wait()
        except BaseException:
            conn.close()
            raise

    def _release(self, conn: _Connection) -> None:
        conn.disarm()
        if conn.reusable and len(self.idle) < self.max_idle:
            self.idle.append(conn)
        else:
            conn.close()

    async def post(
        self, path: str, body: bytes, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> Response:
        """The whole answer, within `timeout` seconds (TimeoutError otherwise). `headers` are added to
        this request's head."""
        conn = await self._start(path, body, timeout, headers)
        try:
            while not conn.complete:
                await conn.wait()
        except BaseException:
            conn.close()  # cancelled or failed mid-answer: the connection's state is unknown
            raise
        data = b"".join(conn.chunks)
        status = conn.status
        self._release(conn)
        return Response(status, data)

    async def stream(
        self, path: str, body: bytes, *, read_timeout: float, headers: Mapping[str, str] | None = None
    ) -> tuple[int, StreamedBody]:
        """The status, then the body as it arrives (`StreamedBody`). A silence longer than `read_timeout`
        fails it; a reader that falls behind by more than `STREAM_BUFFER_BYTES` stops the connection
        reading until it catches up."""
        conn = await self._start(path, body, read_timeout, headers)
        conn.limit = STREAM_BUFFER_BYTES
        return conn.status, StreamedBody(self, conn, read_timeout)

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


class StreamedBody:
    """A streamed answer's body, async-iterated: each piece is all that arrived since the last one was
    taken. `done` once the body was taken whole: its connection is back in the pool by then. A failure
    or a cancellation while waiting drops the connection, and so does `aclose` before the end."""

    __slots__ = ("_conn", "_endpoint", "_read_timeout", "done")

    def __init__(self, endpoint: Endpoint, conn: _Connection, read_timeout: float) -> None:
        self._endpoint = endpoint
        self._conn: _Connection | None = conn
        self._read_timeout = read_timeout
        self.done = False

    def __aiter__(self) -> StreamedBody:
        return self

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        while not conn.chunks:
            if conn.complete:
                self._finished(conn)
                raise StopAsyncIteration
            conn.arm(self._read_timeout)
            try:
                await conn.wait()
            except BaseException:
                self._drop()
                raise
        data = conn.take()
        if conn.complete:
            self._finished(conn)
        return data

    def _finished(self, conn: _Connection) -> None:
        self.done = True
        self._conn = None
        self._endpoint._release(conn)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        self._drop()

    def __del__(self) -> None:  # dropped unread (its reader was cancelled elsewhere): hang up
        self._drop()
