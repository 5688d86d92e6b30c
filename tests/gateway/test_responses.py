"""`POST /v1/responses` through the official `openai` SDK, against every upstream dialect: governed and
metered exactly like chat."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from covey.config import GatewayConfig, ProviderConfig
from covey.gateway.catalog import Catalog
from covey.gateway.providers import ProviderContext, default_registry
from covey.pricing.prices import priced_model
from covey.pricing.tokens import Tokens
from tests.gateway.conftest import Sdk, World, wait_until_served

# Translated for the in-process mock, a chat upstream and an Anthropic upstream; sent as it came to an
# upstream that serves the Responses API (`native`, `responses = true`).
MODELS = ["mock/gpt-4o-mini", "up/gpt-4o-mini", "claude/claude-sonnet-4-20250514", "native/gpt-4o-mini"]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def key(gateway: str, world: World) -> tuple[str, str]:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    return key_id, secret


@pytest.mark.parametrize("model", MODELS)
def test_plain_answer_is_metered_like_chat(sdk: Sdk, world: World, key: tuple[str, str], model: str) -> None:
    key_id, secret = key
    done = sdk.openai(secret).responses.create(
        model=model, instructions="Answer briefly.", input="Tell me about budgets", store=False
    )
    assert done.object == "response" and done.status == "completed" and done.model == model
    assert "Tell me about budgets" in done.output_text
    assert done.usage is not None and done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens
    cost = (done.usage.model_extra or {})["cost"]
    assert cost > 0
    (record,) = world.records(key_id, count=1)
    assert record.endpoint == "responses" and record.status == 200 and record.model_used == model
    assert (record.input_tokens, record.output_tokens) == (done.usage.input_tokens, done.usage.output_tokens)
    assert record.cost_nanos == round(cost * 1e9)
    assert record.features == []


@pytest.mark.parametrize("model", MODELS)
def test_streamed_answer_sends_the_responses_events(sdk: Sdk, world: World, key: tuple[str, str], model: str) -> None:
    key_id, secret = key
    with sdk.openai(secret).responses.stream(model=model, input=[{"role": "user", "content": "stream me"}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds and "response.output_item.done" in kinds
    assert "stream me" in final.output_text
    assert final.usage is not None and final.usage.output_tokens > 0
    (record,) = world.records(key_id, count=1)
    assert record.stream and record.features == ["streaming"] and record.endpoint == "responses"
    assert (record.input_tokens, record.output_tokens) == (final.usage.input_tokens, final.usage.output_tokens)
    assert record.cost_nanos == round((final.usage.model_extra or {})["cost"] * 1e9)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_loop_ends_in_text(sdk: Sdk, key: tuple[str, str], model: str, stream: bool) -> None:
    client = sdk.openai(key[1])
    asked = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first: Any
    if stream:
        with client.responses.stream(model=model, input=asked, tools=[WEATHER]) as events:  # type: ignore[arg-type, list-item]
            first = events.get_final_response()
    else:
        first = client.responses.create(model=model, input=asked, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather" and calls[0].call_id
    json.loads(calls[0].arguments)
    follow_up = [
        *asked,
        {"type": "function_call", "call_id": calls[0].call_id, "name": "get_weather", "arguments": calls[0].arguments},
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny, 21 °C"},
    ]
    second = client.responses.create(model=model, input=follow_up, tools=[WEATHER])  # type: ignore[arg-type, list-item]
    assert [item.type for item in second.output] == ["message"] and second.output_text


def test_freeform_tools_come_back_as_custom_calls(sdk: Sdk, key: tuple[str, str]) -> None:
    tool = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
    done = sdk.openai(key[1]).responses.create(model="up/gpt-4o-mini", input="patch it", tools=[tool])  # type: ignore[list-item]
    (call,) = done.output
    assert call.type == "custom_tool_call" and call.name == "apply_patch" and isinstance(call.input, str)


def test_structured_output_and_reasoning_reach_the_upstream(
    sdk: Sdk, world: World, key: tuple[str, str], upstream_control: httpx.Client
) -> None:
    key_id, secret = key
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    done = sdk.openai(secret).responses.create(  # type: ignore[call-overload]
        model="up/gpt-4o-mini",
        input="json please",
        text={"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}},
        reasoning={"effort": "low"},
        max_output_tokens=200,
    )
    assert "answer" in json.loads(done.output_text)
    sent = upstream_control.get("/_mock/last").json()["body"]
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": schema, "strict": True},
    }
    assert sent["reasoning_effort"] == "low" and sent["max_completion_tokens"] == 200
    (record,) = world.records(key_id, count=1)
    assert record.features == ["structured_outputs", "reasoning"]


def test_refusals_speak_openais_shape(gateway: str, sdk: Sdk, world: World, key: tuple[str, str]) -> None:
    client = sdk.openai(key[1])
    with pytest.raises(openai.AuthenticationError):
        sdk.openai("cvy_wrong").responses.create(model="mock/gpt-4o-mini", input="hi")
    with pytest.raises(openai.NotFoundError, match="previous_response_id"):
        client.responses.create(model="mock/gpt-4o-mini", input="hi", previous_response_id="resp_1")
    with pytest.raises(openai.BadRequestError, match="conversation"):
        client.responses.create(model="mock/gpt-4o-mini", input="hi", conversation="conv_1")
    # A built-in tool the chat model could not run is not offered to it; forcing one is refused.
    offered = client.responses.create(model="up/gpt-4o-mini", input="hi", tools=[{"type": "web_search"}])
    assert [item.type for item in offered.output] == ["message"]
    with pytest.raises(openai.BadRequestError, match="web_search"):
        client.responses.create(  # type: ignore[call-overload]
            model="mock/gpt-4o-mini", input="hi", tools=[{"type": "web_search"}], tool_choice={"type": "web_search"}
        )
    with pytest.raises(openai.BadRequestError, match="input_file"):
        client.responses.create(
            model="mock/gpt-4o-mini",
            input=[{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}],
        )
    with pytest.raises(openai.BadRequestError, match="input"):
        client.responses.create(model="mock/gpt-4o-mini", input=[])
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="up/no-such-model", input="hi")
    owner = world.org.user()
    team = world.group(
        "No tools", access_list_id=world.access_list("only-mock", chat=["mock/*"]), features={"tools": False}
    )
    world.member(team, owner)
    _id, narrow = world.key(owner, group_id=team)
    wait_until_served(gateway, narrow)
    limited = sdk.openai(narrow)
    with pytest.raises(openai.PermissionDeniedError, match="Model blocked by policy"):
        limited.responses.create(model="up/gpt-4o-mini", input="hi")
    with pytest.raises(openai.PermissionDeniedError, match="'tools'"):
        limited.responses.create(model="mock/gpt-4o-mini", input="hi", tools=[WEATHER])  # type: ignore[list-item]
    assert limited.responses.create(model="mock/gpt-4o-mini", input="hi").output_text


@pytest.mark.parametrize("model", ["up/verbose", "claude/claude-verbose", "native/verbose"])
def test_a_stream_past_its_cap_ends_incomplete_and_is_charged_the_cap(
    sdk: Sdk, world: World, key: tuple[str, str], upstream_control: httpx.Client, model: str
) -> None:
    upstream = model.split("/", 1)[1]
    upstream_control.post("/_mock/behaviour", json={"model": upstream, "writes": 5000, "ignore_cap": True})
    key_id, secret = key
    events = list(
        sdk.openai(secret).responses.create(model=model, input="write a lot", max_output_tokens=40, stream=True)
    )
    assert events[-1].type == "response.incomplete"  # as OpenAI ends an answer cut at its max_output_tokens
    final = events[-1].response
    assert final.status == "incomplete" and final.incomplete_details is not None
    assert final.incomplete_details.reason == "max_output_tokens"
    (record,) = world.records(key_id, count=1)
    assert final.usage is not None and record.output_tokens == final.usage.output_tokens >= 40
    assert record.cost_nanos == round((final.usage.model_extra or {})["cost"] * 1e9)


def test_a_broken_upstream_stream_ends_in_an_error_event(
    gateway: str, world: World, key: tuple[str, str], upstream_control: httpx.Client
) -> None:
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "break_after": 3})
    key_id, secret = key
    with httpx.stream(
        "POST",
        f"{gateway}/v1/responses",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "up/gpt-4o", "input": "a long story please", "stream": True},
    ) as response:
        raw = response.read().decode()
    kinds = [line.removeprefix("event: ") for line in raw.splitlines() if line.startswith("event: ")]
    assert kinds[0] == "response.created" and kinds[-2:] == ["error", "response.failed"]
    assert "response.completed" not in kinds
    (record,) = world.records(key_id, count=1)
    assert record.status == 502 and record.endpoint == "responses"
    assert record.output_tokens > 0 and record.cost_nanos > 0  # what was relayed is charged
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "break_after": 3})
    with pytest.raises(openai.APIError, match="problem with the provider stream"):
        list(sdk_stream(secret, gateway))


def sdk_stream(secret: str, gateway: str) -> Any:
    client = openai.OpenAI(base_url=f"{gateway}/v1", api_key=secret, max_retries=0)
    try:
        yield from client.responses.create(model="up/gpt-4o", input="a long story please", stream=True)
    finally:
        client.close()


USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 80},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 150,
}


@pytest.mark.parametrize("stream", [False, True])
def test_an_upstream_that_serves_responses_gets_the_request_as_it_came(
    sdk: Sdk, world: World, key: tuple[str, str], upstream_control: httpx.Client, stream: bool
) -> None:
    key_id, secret = key
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o-mini", "usage": USAGE})
    asked: dict[str, Any] = {
        "model": "native/gpt-4o-mini",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello native"}]}],
        "tools": [WEATHER, {"type": "web_search"}],
        "reasoning": {"effort": "low", "summary": "auto"},
        "max_output_tokens": 300,
        "metadata": {"ticket": "T-1"},
    }
    client = sdk.openai(secret)
    if stream:
        with client.responses.stream(**asked) as events:
            kinds = [event.type for event in events]
            done = events.get_final_response()
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    else:
        done = client.responses.create(**asked)
    last = upstream_control.get("/_mock/last").json()
    assert last["path"] == "/v1/responses"
    sent = last["body"]
    # Every field as the caller sent it (a built-in tool too: this upstream runs them), the model renamed.
    assert sent["model"] == "gpt-4o-mini" and sent["instructions"] == "Be brief." and sent["input"] == asked["input"]
    assert sent["tools"] == asked["tools"] and sent["reasoning"] == asked["reasoning"]
    assert sent["max_output_tokens"] == 300 and sent["metadata"] == {"ticket": "T-1"} and sent["store"] is False
    assert bool(sent.get("stream")) is stream
    assert done.model == "native/gpt-4o-mini" and done.status == "completed"
    assert done.usage is not None and done.usage.input_tokens == 120 and done.usage.output_tokens == 30
    assert done.usage.input_tokens_details.cached_tokens == 80
    assert done.usage.output_tokens_details.reasoning_tokens == 12
    (record,) = world.records(key_id, count=1)
    assert (record.input_tokens, record.cached_tokens, record.output_tokens, record.reasoning_tokens) == (
        120,
        80,
        30,
        12,
    )
    assert record.endpoint == "responses" and record.stream is stream and record.model_used == "native/gpt-4o-mini"
    price = priced_model(
        model_id="native/gpt-4o-mini", upstream_model="gpt-4o-mini", price_provider=None, override=None
    )
    assert record.cost_nanos == price.cost_nanos(Tokens(input=120, cached=80, output=30, reasoning=12))
    assert record.cost_nanos == round((done.usage.model_extra or {})["cost"] * 1e9)
    assert record.features == (["streaming", "tools", "reasoning"] if stream else ["tools", "reasoning"])


def test_under_a_hard_line_the_native_request_carries_the_paid_cap(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    # $0.001 pays for fewer than the default 4096 output tokens at gpt-4o-mini's $0.60 per million.
    key_id, secret = world.key(monthly_limit="0.001")
    wait_until_served(gateway, secret)
    done = sdk.openai(secret).responses.create(model="native/gpt-4o-mini", input="hi")
    assert done.output_text
    sent = upstream_control.get("/_mock/last").json()["body"]
    assert isinstance(sent["max_output_tokens"], int) and 1 <= sent["max_output_tokens"] < 4096
    (record,) = world.records(key_id, count=1)
    assert record.status == 200 and record.cost_nanos > 0


def test_a_failed_native_stream_ends_in_an_error_event(
    gateway: str, world: World, key: tuple[str, str], upstream_control: httpx.Client
) -> None:
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o-mini", "break_after": 4})
    key_id, secret = key
    with httpx.stream(
        "POST",
        f"{gateway}/v1/responses",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "native/gpt-4o-mini", "input": "a long story please", "stream": True},
    ) as response:
        raw = response.read().decode()
    kinds = [line.removeprefix("event: ") for line in raw.splitlines() if line.startswith("event: ")]
    assert kinds[0] == "response.created" and kinds[-2:] == ["error", "response.failed"]
    (record,) = world.records(key_id, count=1)
    assert record.status == 502 and record.endpoint == "responses" and record.model_used == "native/gpt-4o-mini"


def test_what_chat_cannot_carry_goes_to_an_upstream_that_serves_responses(
    gateway: str, sdk: Sdk, world: World, key: tuple[str, str], upstream_control: httpx.Client
) -> None:
    parts = [{"type": "input_text", "text": "summarise it"}, {"type": "input_file", "file_id": "file-1"}]
    asked: dict[str, Any] = {
        "input": [{"role": "user", "content": parts}],
        "tools": [{"type": "web_search"}],
        "tool_choice": {"type": "web_search"},
        "store": False,
    }
    key_id, secret = key
    done = sdk.openai(secret).responses.create(model="native/gpt-4o-mini", **asked)
    assert done.status == "completed" and done.model == "native/gpt-4o-mini"
    sent = upstream_control.get("/_mock/last").json()["body"]
    assert sent["input"] == asked["input"] and sent["tool_choice"] == {"type": "web_search"}
    (record,) = world.records(key_id, count=1)
    assert record.status == 200 and record.input_tokens > 0 and record.cost_nanos > 0
    # Translated for any other upstream, it cannot be carried; nor where guardrails must read its text.
    with pytest.raises(openai.BadRequestError, match="input_file"):
        sdk.openai(secret).responses.create(model="up/gpt-4o-mini", **asked)
    _, screened = world.key(guardrails={"pii": "mask"})
    wait_until_served(gateway, screened)
    with pytest.raises(openai.BadRequestError, match="input_file"):
        sdk.openai(screened).responses.create(model="native/gpt-4o-mini", **asked)


def test_only_a_kind_that_serves_responses_may_say_so() -> None:
    config = GatewayConfig(providers={"claude": ProviderConfig(kind="anthropic", responses=True, models=["m"])})
    context = ProviderContext()
    try:
        with pytest.raises(ValueError, match="responses = true"):
            Catalog.build(config, default_registry(), context)
    finally:
        context.close()
