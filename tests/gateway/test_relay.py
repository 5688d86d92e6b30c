"""The stream relay against a real upstream: the provider's bytes passed through when the caller speaks
its dialect, every guarantee of metering kept, a slow caller slowing only its own upstream."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import httpx
import orjson
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam

from covey.budgets.estimate import prompt_tokens
from tests.gateway.conftest import Sdk, World, eventually, wait_until_served

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "a long enough question for several chunks"}]
HELLO_CLAUDE: list[MessageParam] = [{"role": "user", "content": "a long enough question for several chunks"}]
CLAUDE = "claude/claude-sonnet-4-20250514"


def _frames(body: bytes) -> list[bytes]:
    return [f + b"\n\n" for f in body.split(b"\n\n") if f]


def test_an_openai_stream_is_the_upstreams_bytes(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    with sdk.openai(secret).chat.completions.with_streaming_response.create(
        model="up/gpt-4o", messages=HELLO, stream=True, stream_options={"include_usage": True}
    ) as response:
        body = b"".join(response.iter_bytes())
    sent = [f.encode() for f in upstream_control.get("/_mock/last").json()["stream"]]
    *chunks, upstream_usage, done = sent
    assert done == b"data: [DONE]\n\n" and b'"choices":[]' in upstream_usage
    # Each chunk as the upstream sent it, but for the model, named as the caller asked for it.
    relayed = [c.replace(b'"model":"gpt-4o"', b'"model":"up/gpt-4o"') for c in chunks]
    *frames, usage_frame, end = _frames(body)
    assert frames == relayed
    assert end == b"data: [DONE]\n\n"
    # The upstream's usage chunk is Covey's: the same tokens, priced.
    usage = orjson.loads(usage_frame[6:])["usage"]
    upstream = orjson.loads(upstream_usage[6:])["usage"]
    assert usage["prompt_tokens"] == upstream["prompt_tokens"] > 0
    assert usage["completion_tokens"] == upstream["completion_tokens"] > 0
    (record,) = world.records(key_id, count=1)
    assert (record.input_tokens, record.output_tokens) == (upstream["prompt_tokens"], upstream["completion_tokens"])
    assert record.cost_nanos > 0 and round(usage["cost"] * 1e9) == record.cost_nanos
    assert record.stream and "streaming" in record.features and record.status == 200


def test_an_anthropic_stream_is_the_upstreams_bytes(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    with sdk.anthropic(secret).messages.with_streaming_response.create(
        model=CLAUDE, max_tokens=100, messages=HELLO_CLAUDE, stream=True
    ) as response:
        body = b"".join(response.iter_bytes())
    sent = [f.encode() for f in upstream_control.get("/_mock/last").json()["stream"]]
    frames = _frames(body)
    # All but `message_start` pass untouched; it names the model as the caller asked for it.
    assert frames[1:] == sent[1:]
    start = json.loads(frames[0].split(b"data: ", 1)[1])
    upstream_start = json.loads(sent[0].split(b"data: ", 1)[1])
    assert start["message"].pop("model") == CLAUDE
    upstream_start["message"].pop("model")
    assert start == upstream_start
    final = json.loads(sent[-2].split(b"data: ", 1)[1])["usage"]
    (record,) = world.records(key_id, count=1)
    assert record.output_tokens == final["output_tokens"] > 0
    assert record.input_tokens == final["input_tokens"] > 0 and record.cost_nanos > 0


def test_a_translated_stream_is_metered_from_the_upstreams_usage(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    """An OpenAI caller, an Anthropic-dialect upstream."""
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    chunks = list(
        sdk.openai(secret).chat.completions.create(
            model=CLAUDE, messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "a long enough question" in text
    assert chunks[-1].usage is not None and chunks[-2].choices[0].finish_reason == "stop"
    final = json.loads(upstream_control.get("/_mock/last").json()["stream"][-2].split("data: ", 1)[1])["usage"]
    (record,) = world.records(key_id, count=1)
    assert record.output_tokens == final["output_tokens"] == chunks[-1].usage.completion_tokens
    assert record.cost_nanos > 0


def test_time_to_first_token_is_when_the_first_chunk_went_out(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    pieces, pause = 8, 100
    upstream_control.post(
        "/_mock/behaviour", json={"model": "gpt-4o", "chunk_delay_ms": pause, "stream_chunks": pieces}
    )
    httpx.post(
        f"{gateway}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "up/gpt-4o", "messages": HELLO, "stream": True},
        timeout=30,
    ).raise_for_status()
    (record,) = world.records(key_id, count=1)
    # After the first chunk the upstream paused before each of the others (pieces, finish, usage).
    assert record.ttft_ms is not None and record.latency_ms - record.ttft_ms >= pause * pieces


def _unread_stream(gateway: str, secret: str, model: str) -> socket.socket:
    """A caller that asks for a stream, reads the response head and then nothing more."""
    url = urlsplit(gateway)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.connect((url.hostname, url.port))
    body = orjson.dumps({"model": model, "messages": HELLO, "stream": True})
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {secret}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    assert sock.recv(12) == b"HTTP/1.1 200"
    return sock


def _settled(upstream_control: httpx.Client, model: str) -> int:
    """Bytes the upstream has sent of `model`'s stream, once that stopped growing."""
    readings = [-1]

    def still() -> int | None:
        now = int(upstream_control.get("/_mock/sent").json().get(model, 0))
        still = now if now == readings[-1] and now > 0 else None
        readings.append(now)
        time.sleep(0.2)
        return still

    return eventually(still, tries=50, pause=0)


def test_a_slow_caller_slows_its_own_upstream_and_no_one_else(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    # 96 MiB of text: more than the kernel's socket buffers between the upstream and the caller can
    # ever hold (net.ipv4.tcp_rmem and tcp_wmem at most: 32 MiB + 4 MiB each way here).
    pieces, size = 24_000, 4096
    total = pieces * size
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "stream_chunks": pieces, "chunk_bytes": size})
    slow = _unread_stream(gateway, secret, "up/gpt-4o")
    try:
        held = _settled(upstream_control, "gpt-4o")
        # Covey stopped reading: what is in flight is in socket buffers, not the answer.
        assert held < total // 2, held
        # Meanwhile the worker serves everyone else at their own pace.
        other_id, other = world.key()
        wait_until_served(gateway, other)
        chunks = list(sdk.openai(other).chat.completions.create(model="up/gpt-4o-mini", messages=HELLO, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert world.records(other_id, count=1)[0].status == 200
    finally:
        slow.close()
    (record,) = world.records(key_id, count=1)
    assert record.status == 499
    # Charged for the text relayed (which the caller's socket held), not for nothing.
    assert record.output_tokens > 0 and record.input_tokens == prompt_tokens({"messages": HELLO})
    # The upstream was dropped when the caller left: it sent no more.
    time.sleep(0.3)
    assert int(upstream_control.get("/_mock/sent").json()["gpt-4o"]) < total // 2
