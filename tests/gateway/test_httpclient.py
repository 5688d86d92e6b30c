"""The upstream HTTP client against the real mock upstream: keep-alive reuse, streaming, timeouts."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from covey.gateway.providers.base import ProviderContext
from covey.gateway.providers.http import HttpUpstream
from covey.gateway.providers.httpclient import Endpoint, UpstreamConnectionError
from tests.gateway.servers import free_port

CHAT = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})


def test_connections_are_kept_alive_and_reused(upstream: str) -> None:
    async def run() -> tuple[int, int]:
        endpoint = Endpoint(f"{upstream}/v1", {"Content-Type": "application/json"})
        try:
            for _ in range(5):
                answer = await endpoint.post("/chat/completions", CHAT, timeout=5)
                assert answer.status == 200 and orjson.loads(answer.body)["object"] == "chat.completion"
            sequential = len(endpoint.idle)
            await asyncio.gather(*(endpoint.post("/chat/completions", CHAT, timeout=5) for _ in range(8)))
            return sequential, len(endpoint.idle)
        finally:
            endpoint.close()

    assert asyncio.run(run()) == (1, 8)


def test_streams_arrive_whole_and_the_connection_is_reused(upstream: str) -> None:
    async def run() -> tuple[bytes, int]:
        endpoint = Endpoint(f"{upstream}/v1", {"Content-Type": "application/json"})
        try:
            body = orjson.dumps({**orjson.loads(CHAT), "stream": True})
            status, chunks = await endpoint.stream("/chat/completions", body, read_timeout=5)
            assert status == 200
            data = b"".join([c async for c in chunks])
            return data, len(endpoint.idle)
        finally:
            endpoint.close()

    data, idle = asyncio.run(run())
    assert data.endswith(b"data: [DONE]\n\n") and idle == 1


def test_timeouts_and_unreachable_upstreams(upstream: str, upstream_control: httpx.Client) -> None:
    upstream_control.post("/_mock/behaviour", json={"model": "slow", "delay_ms": 2000})

    async def slow() -> None:
        endpoint = Endpoint(f"{upstream}/v1", {})
        try:
            await endpoint.post("/chat/completions", b'{"model": "slow"}', timeout=0.2)
        finally:
            endpoint.close()

    with pytest.raises(TimeoutError):
        asyncio.run(slow())

    async def nowhere() -> None:
        endpoint = Endpoint(f"http://127.0.0.1:{free_port()}/v1", {})
        await endpoint.post("/chat/completions", CHAT, timeout=1)

    with pytest.raises(UpstreamConnectionError):
        asyncio.run(nowhere())


def test_a_streams_events_say_when_the_answer_ended_and_leaving_early_hangs_up(
    upstream: str, upstream_control: httpx.Client
) -> None:
    """`ended` is never said before the last batch, and is said once the answer was read whole (the
    connection back in the pool); a stream closed before its end drops its connection."""
    upstream_control.post("/_mock/behaviour", json={"model": "m", "chunk_delay_ms": 5})

    async def run() -> tuple[list[bool], int, int]:
        context = ProviderContext()
        http = HttpUpstream(context, base_url=f"{upstream}/v1", headers={}, timeout=5)
        try:
            body = {**orjson.loads(CHAT), "stream": True}
            events = http.stream("/chat/completions", body)
            seen = []
            async for batch in events:
                assert batch
                seen.append(events.ended)
            seen.append(events.ended)
            whole = len(http.endpoint.idle)
            early = http.stream("/chat/completions", body)
            await anext(early)
            await early.aclose()
            return seen, whole, len(http.endpoint.idle)
        finally:
            context.close()

    seen, whole, after_leaving = asyncio.run(run())
    assert len(seen) > 2 and seen[-1] is True and not any(seen[:-2])
    assert (whole, after_leaving) == (1, 0)
