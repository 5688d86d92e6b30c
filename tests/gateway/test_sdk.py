"""The official `openai` and `anthropic` SDKs, unmodified, against a running Covey."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from tests.gateway.conftest import Sdk, World, wait_until_served


@pytest.fixture
def secret(gateway: str, world: World) -> str:
    _key_id, secret = world.key()
    wait_until_served(gateway, secret)
    return secret


@pytest.fixture
def oai(sdk: Sdk, secret: str) -> openai.OpenAI:
    return sdk.openai(secret)


@pytest.fixture
def claude(sdk: Sdk, secret: str) -> anthropic.Anthropic:
    return sdk.anthropic(secret)


def test_chat_plain(oai: openai.OpenAI) -> None:
    done = oai.chat.completions.create(
        model="up/gpt-4o-mini", messages=[{"role": "user", "content": "Say something nice"}]
    )
    assert done.model == "up/gpt-4o-mini"
    assert "Say something nice" in (done.choices[0].message.content or "")
    assert done.usage is not None and done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0
    assert (done.usage.model_extra or {})["cost"] > 0


@pytest.mark.parametrize("model", ["up/gpt-4o-mini", "mock/gpt-4o-mini", "claude/claude-sonnet-4-20250514"])
def test_chat_streamed_usage_only_when_asked(oai: openai.OpenAI, model: str) -> None:
    chunks = list(
        oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "stream me"}], stream=True)
    )
    assert chunks and all(c.usage is None for c in chunks)
    assert "stream me" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    asked = list(
        oai.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "stream me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    with_usage = [c for c in asked if c.usage is not None]
    assert with_usage == [asked[-1]]
    assert asked[-1].choices == []
    assert asked[-1].usage is not None and asked[-1].usage.completion_tokens > 0
    assert (asked[-1].usage.model_extra or {})["cost"] > 0
    assert {c.model for c in asked} == {model}


def test_chat_tools_and_response_format(oai: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    done = oai.chat.completions.create(
        model="up/gpt-4o-mini",
        messages=[{"role": "user", "content": "weather?"}],
        tools=tools,  # type: ignore[arg-type]
    )
    call = (done.choices[0].message.tool_calls or [])[0]
    assert call.type == "function"
    assert call.function.name == "get_weather" and done.choices[0].finish_reason == "tool_calls"

    structured = oai.chat.completions.create(
        model="up/gpt-4o-mini",
        messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_object"},
    )
    assert "answer" in json.loads(structured.choices[0].message.content or "")


def test_chat_to_anthropic_model_is_translated(oai: openai.OpenAI) -> None:
    done = oai.chat.completions.create(
        model="claude/claude-sonnet-4-20250514",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi claude"}],
    )
    assert done.model == "claude/claude-sonnet-4-20250514"
    assert "hi claude" in (done.choices[0].message.content or "")
    assert done.usage is not None and done.usage.prompt_tokens > 0


def test_embeddings(oai: openai.OpenAI) -> None:
    result = oai.embeddings.create(model="up/text-embedding-3-small", input=["one", "two"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 8
    assert result.model == "up/text-embedding-3-small"
    assert result.usage.prompt_tokens > 0


def test_models_list_is_what_the_key_may_use(gateway: str, sdk: Sdk, world: World) -> None:
    only = world.access_list("only-mini", chat=["up/gpt-4o-mini", "mock/*"])
    _key_id, secret = world.key(access_list_id=only)
    wait_until_served(gateway, secret)
    client = sdk.openai(secret)
    ids = {m.id for m in client.models.list()}
    assert ids == {"up/gpt-4o-mini", "mock/gpt-4o-mini", "mock/text-embedding-3-small"}
    listed = httpx.get(f"{gateway}/v1/models", headers={"Authorization": f"Bearer {secret}"}).json()["data"]
    mini = next(m for m in listed if m["id"] == "up/gpt-4o-mini")
    assert mini["input_price"] == 0.00000015 and mini["output_price"] == 0.0000006  # numbers, as Requesty sends


@pytest.mark.parametrize("model", ["claude/claude-sonnet-4-20250514", "up/gpt-4o-mini"])
def test_anthropic_messages_plain(claude: anthropic.Anthropic, model: str) -> None:
    message = claude.messages.create(
        model=model, max_tokens=100, system="be kind", messages=[{"role": "user", "content": "hello messages"}]
    )
    assert message.model == model
    assert message.content[0].type == "text" and "hello messages" in message.content[0].text
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.stop_reason == "end_turn"


@pytest.mark.parametrize("model", ["claude/claude-sonnet-4-20250514", "up/gpt-4o-mini"])
def test_anthropic_messages_streamed(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "stream messages"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert "stream messages" in text
    assert final.model == model
    assert final.usage.output_tokens > 0


def test_anthropic_tool_use_round_trip(claude: anthropic.Anthropic) -> None:
    tools = [{"name": "lookup", "description": "look up", "input_schema": {"type": "object"}}]
    message = claude.messages.create(
        model="up/gpt-4o-mini",
        max_tokens=100,
        tools=tools,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "use the tool"}],
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "lookup" and block.input == {"mock": True}
