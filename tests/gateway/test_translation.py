"""Translation between OpenAI's and Anthropic's formats keeps meaning both ways, or refuses with a 400
naming what cannot be carried: checked on what the real upstream receives and on the answers."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest

from covey.gateway import translation
from covey.gateway.errors import GatewayError
from tests.gateway.conftest import Sdk, World, wait_until_served

CLAUDE = "claude/claude-sonnet-4-20250514"
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
TOOL: Any = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


@pytest.fixture
def secret(gateway: str, world: World) -> str:
    _key_id, secret = world.key()
    wait_until_served(gateway, secret)
    return secret


def _sent(upstream_control: httpx.Client) -> Any:
    return upstream_control.get("/_mock/last").json()["body"]


def test_openai_callers_keep_their_meaning_on_anthropic_models(
    sdk: Sdk, secret: str, upstream_control: httpx.Client
) -> None:
    client = sdk.openai(secret)
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
            ],
        },
    ]
    done = client.chat.completions.create(  # type: ignore[call-overload]
        model=CLAUDE,
        messages=messages,
        max_tokens=4000,
        response_format={"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA}},
        reasoning_effort="low",
        stop=["END"],
        tools=[TOOL],
        tool_choice="auto",
        parallel_tool_calls=False,
    )
    sent = _sent(upstream_control)
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["stop_sequences"] == ["END"] and sent["system"] == "Be brief."
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    image = sent["messages"][0]["content"][1]
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
    assert done.choices[0].finish_reason == "tool_calls"

    for refused, field in (
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"reasoning_effort": "high", "max_tokens": 500}, "reasoning_effort"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format"),
    ):
        with pytest.raises(openai.BadRequestError, match=field):
            client.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}], **refused)


def test_anthropic_callers_keep_their_meaning_on_openai_models(
    sdk: Sdk, secret: str, upstream_control: httpx.Client
) -> None:
    claude = sdk.anthropic(secret)
    hello: Any = [{"role": "user", "content": "json please"}]
    done = claude.messages.create(
        model="up/gpt-4o-mini",
        max_tokens=9000,
        messages=hello,
        thinking={"type": "enabled", "budget_tokens": 5000},
        stop_sequences=["END"],
        tools=[{"name": "lookup", "input_schema": {"type": "object"}}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}},
    )
    sent = _sent(upstream_control)
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": SCHEMA, "strict": True},
    }
    assert sent["reasoning_effort"] == "medium" and sent["stop"] == ["END"]
    assert sent["tool_choice"] == "auto" and sent["parallel_tool_calls"] is False
    assert done.stop_reason == "tool_use"
    answer = claude.messages.create(
        model="up/gpt-4o-mini",
        max_tokens=100,
        messages=hello,
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}},
    )
    assert "answer" in json.loads(answer.content[0].text)  # type: ignore[union-attr]
    with pytest.raises(anthropic.BadRequestError, match="top_k"):
        claude.messages.create(model="up/gpt-4o-mini", max_tokens=10, messages=hello, extra_body={"top_k": 5})
    document: Any = [
        {
            "role": "user",
            "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}],
        }
    ]
    with pytest.raises(anthropic.BadRequestError, match="document"):
        claude.messages.create(model="up/gpt-4o-mini", max_tokens=10, messages=document)


def test_structured_output_through_anthropic_counts_as_the_feature(gateway: str, sdk: Sdk, world: World) -> None:
    owner = world.org.user()
    team = world.group("No structured output", features={"structured_outputs": False, "reasoning": False})
    world.member(team, owner)
    _key, secret = world.key(owner, group_id=team)
    wait_until_served(gateway, secret)
    claude = sdk.anthropic(secret)
    hello: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.PermissionDeniedError, match="structured_outputs"):
        claude.messages.create(
            model=CLAUDE,
            max_tokens=10,
            messages=hello,
            extra_body={"output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}},
        )
    with pytest.raises(anthropic.PermissionDeniedError, match="reasoning"):
        claude.messages.create(
            model=CLAUDE, max_tokens=2000, messages=hello, thinking={"type": "enabled", "budget_tokens": 1024}
        )
    assert claude.messages.create(model=CLAUDE, max_tokens=10, messages=hello, thinking={"type": "disabled"}).content


def test_thoughts_and_cached_tokens_survive_both_ways() -> None:
    anthropic_answer = {
        "id": "msg_1",
        "model": "m",
        "content": [
            {"type": "thinking", "thinking": "Let me see.", "signature": "s"},
            {"type": "text", "text": "Yes."},
        ],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 90,
            "cache_creation_input_tokens": 5,
            "output_tokens": 7,
        },
    }
    chat = translation.messages_response_to_chat(anthropic_answer)
    message = chat["choices"][0]["message"]
    assert message["reasoning_content"] == "Let me see." and message["content"] == "Yes."
    assert chat["usage"]["prompt_tokens"] == 105
    assert chat["usage"]["prompt_tokens_details"] == {"cached_tokens": 90, "cache_write_tokens": 5}
    back = translation.chat_response_to_messages(
        {
            "id": "c",
            "model": "m",
            "choices": [{"message": {"content": "Yes.", "reasoning_content": "Hmm."}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 60},
                "completion_tokens_details": {"reasoning_tokens": 12},
            },
        }
    )
    assert [b["type"] for b in back["content"]] == ["thinking", "text"]
    assert back["usage"]["input_tokens"] == 40 and back["usage"]["cache_read_input_tokens"] == 60
    stream = translation.MessagesToChatStream("m")
    chunks = stream.feed(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "t"}}
    )
    assert chunks[0]["choices"][0]["delta"] == {"reasoning_content": "t"}
    with pytest.raises(GatewayError, match="xlarge"):
        translation.chat_request_to_messages(
            {"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "xlarge"}
        )


def test_streamed_thoughts_become_thinking_blocks() -> None:
    stream = translation.ChatToMessagesStream("m", input_estimate=12)
    events = stream.feed({"id": "c", "choices": [{"index": 0, "delta": {"reasoning_content": "Hmm"}}]})
    events += stream.feed({"id": "c", "choices": [{"index": 0, "delta": {"content": "Yes"}}]})
    events += stream.finish()
    assert events[0]["message"]["usage"]["input_tokens"] == 12
    assert [e["type"] for e in events[1:4]] == ["content_block_start", "content_block_delta", "content_block_stop"]
    assert events[1]["content_block"]["type"] == "thinking"
    assert events[2]["delta"] == {"type": "thinking_delta", "thinking": "Hmm"}
    assert events[5]["delta"] == {"type": "text_delta", "text": "Yes"}
