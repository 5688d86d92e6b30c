"""Failures after streaming began, and callers who leave."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from covey.budgets.estimate import prompt_tokens
from tests.gateway.conftest import Sdk, World, eventually, wait_until_served

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "a long enough question for several chunks"}]


def test_failure_mid_stream_ends_with_an_error_event(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "break_after": 3})
    received: list[str] = []
    with pytest.raises(openai.APIError, match="problem with the provider stream"):
        for chunk in sdk.openai(secret).chat.completions.create(model="up/gpt-4o", messages=HELLO, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received)  # the stream had begun
    (record,) = world.records(key_id, count=1)
    assert record.status == 502 and "provider stream" in (record.error or "")
    # No usage came from the provider: charged the most the text relayed can have cost.
    assert record.output_tokens == len("".join(received).encode())
    assert record.input_tokens == prompt_tokens({"messages": HELLO})
    assert record.cost_nanos > 0


def test_failure_before_the_first_chunk_is_a_plain_error(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    _key_id, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "status": 503})
    with pytest.raises(openai.InternalServerError):
        list(sdk.openai(secret).chat.completions.create(model="up/gpt-4o", messages=HELLO, stream=True))


def test_client_disconnect_cancels_the_upstream_call(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "delay_ms": 3000})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{gateway}/v1/chat/completions",
            headers={"Authorization": f"Bearer {secret}"},
            json={"model": "up/gpt-4o", "messages": HELLO},
            timeout=0.3,
        )
    # Written when the gateway dropped the call, not when the upstream would have answered.
    (record,) = world.records(key_id, count=1)
    assert record.status == 499 and record.model_requested == "up/gpt-4o"


def test_client_leaving_mid_stream_cancels_the_upstream_stream(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "chunk_delay_ms": 300})
    with httpx.stream(
        "POST",
        f"{gateway}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "up/gpt-4o", "messages": HELLO, "stream": True},
    ) as response:
        first = next(response.iter_raw())
    assert first.startswith(b"data: ")
    # The whole stream would take several seconds; the record says the gateway stopped when the caller left.
    (record,) = world.records(key_id, count=1)
    assert record.status == 499 and record.stream and record.ttft_ms is not None


def test_a_caller_leaving_mid_stream_stops_the_upstreams_bytes(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    """The gateway hangs up on the upstream as soon as the caller leaves: the upstream's stream ends early
    because its caller (the gateway) left, not by running to its end."""
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "chunk_delay_ms": 100, "stream_chunks": 60})
    with httpx.stream(
        "POST",
        f"{gateway}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "up/gpt-4o", "messages": HELLO, "stream": True},
    ) as response:
        assert next(response.iter_raw()).startswith(b"data: ")
    (record,) = world.records(key_id, count=1)
    assert record.status == 499

    def ended() -> dict[str, Any] | None:
        last: dict[str, Any] = upstream_control.get("/_mock/last").json()
        return last if last.get("ended") else None

    last = eventually(ended, tries=400)
    assert last["ended"] == "caller left"
    assert 0 < len(last["stream"]) < 60


def test_leaving_once_text_arrived_is_charged_for_the_text_relayed(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    """Disconnecting before the provider's usage arrives never makes an answer free."""
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "chunk_delay_ms": 200})
    text = ""
    with httpx.stream(
        "POST",
        f"{gateway}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "up/gpt-4o", "messages": HELLO, "stream": True},
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
            if text:
                break
    (record,) = world.records(key_id, count=1)
    assert record.status == 499
    # At least what this caller read (the gateway may have relayed a chunk more before it noticed).
    assert record.output_tokens >= len(text.encode()) > 0
    assert record.input_tokens == prompt_tokens({"messages": HELLO})
    assert record.cost_nanos > 0
