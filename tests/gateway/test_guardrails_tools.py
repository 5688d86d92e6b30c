"""Guardrails on tool calls, with a real HTTP upstream: the arguments a model streams (OpenAI's
`function.arguments` pieces, Anthropic's `input_json_delta`) and answers whole (`tool_calls`,
`tool_use.input`) reach the caller masked, each placeholder whole in one piece and the arguments still
JSON; the tool calls and tool results a caller sends back reach the upstream masked."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest

from tests.gateway.conftest import World, wait_until_served

EMAIL = "alice.smith@example.com"
CARD = "4111 1111 1111 1111"
SECRET = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
# What the model calls its tool with; the escaped newline before the email must survive the mask.
ARGUMENTS = orjson.dumps({"to": EMAIL, "card": CARD, "note": f"deploy key {SECRET}", "body": f"hi\n{EMAIL}"}).decode()
VALUES = [EMAIL, CARD, SECRET]
PLACEHOLDERS = ["[EMAIL REDACTED]", "[CARD NUMBER REDACTED]", "[API KEY REDACTED]"]
MASKED = {
    "to": "[EMAIL REDACTED]",
    "card": "[CARD NUMBER REDACTED]",
    "note": "deploy key [API KEY REDACTED]",
    "body": "hi\n[EMAIL REDACTED]",
}
OPENAI_TOOLS = [{"type": "function", "function": {"name": "send", "parameters": {"type": "object", "properties": {}}}}]
ANTHROPIC_TOOLS = [{"name": "send", "input_schema": {"type": "object", "properties": {}}}]
CLAUDE = "claude/claude-sonnet-4-20250514"
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}


def _none_of(text: str) -> None:
    for value in VALUES:
        assert value not in text, value


def _sse_data(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


@pytest.fixture
def guarded(world: World, gateway: str, upstream_control: httpx.Client) -> str:
    group = world.group(f"T {uuid.uuid4().hex[:6]}", guardrails={"pii": "mask", "secrets": "mask", "financial": "mask"})
    user = world.org.user()
    world.member(group, user)
    _, secret = world.key(user, group_id=group)
    wait_until_served(gateway, secret)
    for model in ("gpt-4o-mini", "claude-sonnet-4-20250514"):
        upstream_control.post("/_mock/behaviour", json={"model": model, "arguments": ARGUMENTS})
    return secret


def _post(gateway: str, secret: str, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if path.endswith("completions") else {"x-api-key": secret}
    return httpx.post(f"{gateway}{path}", json=body, headers={**headers, **ANTHROPIC_HEADERS}, timeout=30)


def test_streamed_openai_tool_arguments_are_masked_whole(gateway: str, guarded: str) -> None:
    body = {
        "model": "up/gpt-4o-mini",
        "stream": True,
        "tools": OPENAI_TOOLS,
        "messages": [{"role": "user", "content": "go"}],
    }
    answer = _post(gateway, guarded, "/v1/chat/completions", body)
    assert answer.status_code == 200
    _none_of(answer.text)
    pieces = [
        call["function"].get("arguments") or ""
        for chunk in _sse_data(answer.text)
        for choice in chunk.get("choices") or ()
        for call in choice["delta"].get("tool_calls") or ()
    ]
    assert len([p for p in pieces if p]) > 1  # streamed in pieces, not held to the end
    assert orjson.loads("".join(pieces)) == MASKED
    for placeholder in PLACEHOLDERS:
        assert any(placeholder in p for p in pieces), placeholder  # never split across chunks
    finish = [c for c in _sse_data(answer.text) if c.get("choices") and c["choices"][0].get("finish_reason")]
    assert finish[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_streamed_anthropic_input_json_is_masked_whole(gateway: str, guarded: str) -> None:
    body = {
        "model": CLAUDE,
        "max_tokens": 200,
        "stream": True,
        "tools": ANTHROPIC_TOOLS,
        "messages": [{"role": "user", "content": "go"}],
    }
    answer = _post(gateway, guarded, "/v1/messages", body)
    assert answer.status_code == 200
    _none_of(answer.text)
    events = _sse_data(answer.text)
    pieces = [
        e["delta"]["partial_json"]
        for e in events
        if e.get("type") == "content_block_delta" and e["delta"].get("type") == "input_json_delta"
    ]
    assert orjson.loads("".join(pieces)) == MASKED
    for placeholder in PLACEHOLDERS:
        assert any(placeholder in p for p in pieces), placeholder
    kinds = [e["type"] for e in events]
    last_delta = max(i for i, k in enumerate(kinds) if k == "content_block_delta")
    assert kinds.index("content_block_stop", kinds.index("content_block_start")) > last_delta


def test_an_openai_caller_streaming_from_anthropic_gets_masked_arguments(gateway: str, guarded: str) -> None:
    body = {"model": CLAUDE, "stream": True, "tools": OPENAI_TOOLS, "messages": [{"role": "user", "content": "go"}]}
    answer = _post(gateway, guarded, "/v1/chat/completions", body)
    assert answer.status_code == 200
    _none_of(answer.text)
    pieces = [
        call["function"].get("arguments") or ""
        for chunk in _sse_data(answer.text)
        for choice in chunk.get("choices") or ()
        for call in choice["delta"].get("tool_calls") or ()
    ]
    assert orjson.loads("".join(pieces)) == MASKED


def test_whole_answers_mask_tool_calls_and_tool_use_input(gateway: str, guarded: str) -> None:
    chat = {"model": "up/gpt-4o-mini", "tools": OPENAI_TOOLS, "messages": [{"role": "user", "content": "go"}]}
    answer = _post(gateway, guarded, "/v1/chat/completions", chat)
    assert answer.status_code == 200
    _none_of(answer.text)
    (call,) = answer.json()["choices"][0]["message"]["tool_calls"]
    assert orjson.loads(call["function"]["arguments"]) == MASKED
    messages = {"model": CLAUDE, "max_tokens": 200, "tools": ANTHROPIC_TOOLS, "messages": chat["messages"]}
    answer = _post(gateway, guarded, "/v1/messages", messages)
    assert answer.status_code == 200
    _none_of(answer.text)
    (block,) = [b for b in answer.json()["content"] if b["type"] == "tool_use"]
    assert block["input"] == MASKED


def test_tool_calls_and_results_the_caller_sends_back_are_masked(
    gateway: str, guarded: str, upstream_control: httpx.Client
) -> None:
    chat = {
        "model": "up/gpt-4o-mini",
        "tools": OPENAI_TOOLS,
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "send", "arguments": ARGUMENTS}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": f"sent to {EMAIL}, charged {CARD}"},
        ],
    }
    assert _post(gateway, guarded, "/v1/chat/completions", chat).status_code == 200
    sent = upstream_control.get("/_mock/last").json()["body"]
    _none_of(orjson.dumps(sent).decode())
    assert orjson.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == MASKED
    assert sent["messages"][2]["content"] == "sent to [EMAIL REDACTED], charged [CARD NUMBER REDACTED]"

    messages = {
        "model": CLAUDE,
        "max_tokens": 200,
        "tools": ANTHROPIC_TOOLS,
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "send", "input": orjson.loads(ARGUMENTS)}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": f"ok {EMAIL}"}],
                    }
                ],
            },
        ],
    }
    assert _post(gateway, guarded, "/v1/messages", messages).status_code == 200
    sent = upstream_control.get("/_mock/last").json()["body"]
    _none_of(orjson.dumps(sent).decode())
    assert sent["messages"][1]["content"][0]["input"] == MASKED
    assert sent["messages"][1]["content"][0]["id"] == "toolu_1"  # ids are not text
    assert sent["messages"][2]["content"][0]["content"][0]["text"] == "ok [EMAIL REDACTED]"
