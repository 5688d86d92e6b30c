"""No input answers 500: malformed gateway bodies answer 400 in the path's own error shape, naming the
field, and record nothing; metering carries on after them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.gateway.conftest import World, wait_until_served

HI = [{"role": "user", "content": "hi"}]
CLAUDE = "claude/claude-sonnet-4-20250514"


def nested(levels: int) -> Any:
    value: Any = "deep"
    for _ in range(levels):
        value = [{"type": "text", "text": "x", "content": value}]
    return value


CHAT_CASES: list[tuple[dict[str, Any] | str, str]] = [
    ({"model": "up/gpt-4o-mini", "messages": HI, "max_tokens": -1}, "max_tokens"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "max_tokens": "16"}, "max_tokens"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "max_tokens": True}, "max_tokens"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "max_completion_tokens": 2**40}, "max_completion_tokens"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "n": 0}, "n"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "n": 10_000}, "n"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "stream": "yes"}, "stream"),
    ({"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": ["a", "b"]}]}, "messages[0].content[0]"),
    ({"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"model": "up/gpt-4o-mini", "messages": [{"content": "no role"}]}, "messages[0].role"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "tools": [{"type": "function"}]}, "tools[0].function"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "tools": "all"}, "tools"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "tool_choice": 7}, "tool_choice"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "stop": [1, 2]}, "stop"),
    (
        {
            "model": CLAUDE,
            "messages": [
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}
            ],
        },
        "messages[0].tool_calls[0].function.arguments",
    ),
    ({"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": nested(200)}]}, "body"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "requesty": {"extra": nested(20)[0]}}, "requesty.extra"),
    ("DEEP_EXTRA", "requesty.extra"),
    ({"model": "up/gpt-4o-mini", "messages": HI, "requesty": {"tags": ["x" * 500]}}, "requesty.tags"),
    ({"model": ["up/gpt-4o-mini"], "messages": HI}, "model"),
    ({"model": "up/gpt-4o-mini", "messages": {"role": "user"}}, "messages"),
]

MESSAGES_CASES: list[tuple[dict[str, Any] | str, str]] = [
    ({"model": CLAUDE, "messages": HI, "max_tokens": 16, "tool_choice": "auto"}, "tool_choice"),
    ({"model": CLAUDE, "messages": [{"role": "user", "content": ["a", "b"]}], "max_tokens": 16}, "messages[0]"),
    ("DEEP", "body"),
    ({"model": CLAUDE, "messages": HI, "max_tokens": -1}, "max_tokens"),
    ({"model": CLAUDE, "messages": HI, "max_tokens": "16"}, "max_tokens"),
    ({"model": CLAUDE, "messages": HI, "max_tokens": True}, "max_tokens"),
    ({"model": CLAUDE, "messages": HI}, "max_tokens"),
    ({"model": CLAUDE, "messages": HI, "max_tokens": 16, "system": 5}, "system"),
    ({"model": CLAUDE, "messages": HI, "max_tokens": 16, "metadata": "me"}, "metadata"),
    ({"model": CLAUDE, "messages": HI, "max_tokens": 16, "tools": [{"name": 1}]}, "tools[0].name"),
    (
        {
            "model": CLAUDE,
            "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}],
            "max_tokens": 16,
        },
        "messages[0].content[0].source",
    ),
]

EMBEDDING_CASES: list[tuple[dict[str, Any], str]] = [
    ({"model": "up/text-embedding-3-small", "input": "hi", "dimensions": 2_000_000}, "dimensions"),
    ({"model": "up/text-embedding-3-small", "input": "hi", "dimensions": "8"}, "dimensions"),
    ({"model": "up/text-embedding-3-small", "input": [{"text": "hi"}]}, "input"),
    ({"model": "up/text-embedding-3-small", "input": []}, "input"),
    ({"model": "up/text-embedding-3-small", "input": ["a"] * 5000}, "input"),
    ({"model": "up/text-embedding-3-small"}, "input"),
]


@pytest.fixture(scope="module")
def secret(gateway: str, world: World) -> tuple[str, str]:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    return key_id, secret


def deep_body(levels: int) -> bytes:
    """Content nested `levels` deep: JSON no encoder here would write."""
    inner = '[{"type": "text", "text": "x", "content": ' * levels + '"deep"' + "}]" * levels
    return f'{{"model": "{CLAUDE}", "max_tokens": 16, "messages": [{{"role": "user", "content": {inner}}}]}}'.encode()


def deep_extra(levels: int) -> bytes:
    """`requesty.extra` nested `levels` deep (deeper than Python's own encoder goes)."""
    inner = '{"a": ' * levels + "1" + "}" * levels
    head = '{"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "requesty": {"extra": '
    return (head + inner + "}}").encode()


def post(gateway: str, path: str, secret: str, body: dict[str, Any] | str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    if body == "DEEP":
        return httpx.post(gateway + path, content=deep_body(500), headers=headers, timeout=30)
    if body == "DEEP_EXTRA":
        return httpx.post(gateway + path, content=deep_extra(990), headers=headers, timeout=30)
    return httpx.post(gateway + path, json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(("body", "field"), CHAT_CASES)
def test_chat_bodies_answer_400_naming_the_field(gateway: str, secret: tuple[str, str], body: Any, field: str) -> None:
    response = post(gateway, "/v1/chat/completions", secret[1], body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"].startswith(field) and error["type"] == "invalid_request_error"


@pytest.mark.parametrize(("body", "field"), MESSAGES_CASES)
def test_messages_bodies_answer_400_in_anthropics_shape(
    gateway: str, secret: tuple[str, str], body: Any, field: str
) -> None:
    response = post(gateway, "/v1/messages", secret[1], body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith(field)


@pytest.mark.parametrize(("body", "field"), EMBEDDING_CASES)
def test_embedding_bodies_answer_400(gateway: str, secret: tuple[str, str], body: Any, field: str) -> None:
    response = post(gateway, "/v1/embeddings", secret[1], body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(field)


def test_refused_bodies_record_nothing_and_metering_goes_on(gateway: str, world: World) -> None:
    key_id, token = world.key()
    wait_until_served(gateway, token)
    bodies: list[dict[str, Any] | str] = [b for b, _ in CHAT_CASES[:5]]
    for body in [*bodies, "DEEP_EXTRA"]:
        assert post(gateway, "/v1/chat/completions", token, body).status_code == 400
    assert post(gateway, "/v1/chat/completions", token, {"model": "up/gpt-4o-mini", "messages": HI}).status_code == 200
    (record,) = world.records(key_id, count=1)  # the refusals left no record; the answer did
    assert record.status == 200
