"""Block mode on answers, with a real HTTP upstream: an answer holding a category in block mode never
reaches the caller — a whole answer becomes a 400 in the caller's dialect naming the category, a
stream ends with an error event before the value is sent — and the request is still recorded and
charged (the upstream wrote the answer), with `guardrail.blocked` in the audit log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from covey.models import AuditEvent
from tests.gateway.conftest import World, eventually, wait_until_served

SECRET = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
EMAIL = "bob.jones@example.org"
# A long text first, so the stream may have sent some of it when the secret comes.
REPLY = "Here is what you asked for, step by step, with every detail. " * 4 + f"Mail {EMAIL}, use {SECRET} now."
MESSAGE = "Answer blocked by guardrails: secrets (api key) found in the model's answer"
CLAUDE = "claude/claude-sonnet-4-20250514"


@pytest.fixture
def blocking(world: World, gateway: str, upstream_control: httpx.Client) -> tuple[str, str]:
    group = world.group(f"B {uuid.uuid4().hex[:6]}", guardrails={"pii": "mask", "secrets": "block"})
    user = world.org.user()
    world.member(group, user)
    key_id, secret = world.key(user, group_id=group, logging=True)
    wait_until_served(gateway, secret)
    for model in ("gpt-4o-mini", "claude-sonnet-4-20250514"):
        upstream_control.post("/_mock/behaviour", json={"model": model, "reply": REPLY})
    return key_id, secret


def _call(gateway: str, secret: str, model: str, *, stream: bool) -> httpx.Response:
    openai = not model.startswith("claude/")
    body: dict[str, Any] = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "a secret?"}]}
    if openai:
        return httpx.post(
            f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"}, timeout=30
        )
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    return httpx.post(f"{gateway}/v1/messages", json={**body, "max_tokens": 300}, headers=headers, timeout=30)


def _blocked_and_charged(world: World, key_id: str) -> None:
    (record,) = world.records(key_id, count=1)
    assert record.status == 400 and record.error == MESSAGE
    assert record.guardrails is not None and record.guardrails["secrets"] == 1
    assert record.output_tokens > 0 and record.cost_nanos > 0  # the upstream wrote it: charged
    assert SECRET not in (record.response_body or "")

    def events() -> list[AuditEvent] | None:
        with world.db.sessions() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.target_id == key_id, AuditEvent.action == "guardrail.blocked")
            )
            return list(rows) or None

    (event,) = eventually(events, tries=200)
    assert event.after is not None and event.after["counts"]["secrets"] == 1


@pytest.mark.parametrize("model", ["up/gpt-4o-mini", CLAUDE])
def test_a_whole_answer_is_refused_naming_the_category(
    world: World, gateway: str, blocking: tuple[str, str], model: str
) -> None:
    key_id, secret = blocking
    answer = _call(gateway, secret, model, stream=False)
    assert answer.status_code == 400
    assert SECRET not in answer.text and "Here is what" not in answer.text
    if model == CLAUDE:
        assert answer.json() == {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": MESSAGE, "origin": "router"},
        }
    else:
        assert answer.json()["error"]["message"] == MESSAGE and answer.json()["error"]["code"] == 400
    _blocked_and_charged(world, key_id)


@pytest.mark.parametrize("model", ["up/gpt-4o-mini", CLAUDE])
def test_a_stream_ends_with_an_error_before_the_value(
    world: World, gateway: str, blocking: tuple[str, str], model: str
) -> None:
    key_id, secret = blocking
    answer = _call(gateway, secret, model, stream=True)
    assert answer.status_code == 200  # the stream had begun
    assert SECRET not in answer.text
    data = [orjson.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: {")]
    assert "error" in data[-1] and data[-1]["error"]["message"] == MESSAGE
    if model == CLAUDE:
        assert data[-1]["type"] == "error" and answer.text.rstrip().splitlines()[-2] == "event: error"
        sent = "".join(e["delta"].get("text", "") for e in data if e.get("type") == "content_block_delta")
    else:
        sent = "".join(c["choices"][0]["delta"].get("content") or "" for c in data if c.get("choices"))
        assert "[DONE]" not in answer.text
    # What came before may have been streamed (as the upstream's writes arrived), never any of the value.
    assert REPLY.startswith(sent[:40]) and "sk-proj" not in sent and EMAIL not in sent
    _blocked_and_charged(world, key_id)


def test_an_answer_without_the_category_is_only_masked(
    world: World, gateway: str, blocking: tuple[str, str], upstream_control: httpx.Client
) -> None:
    key_id, secret = blocking
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o-mini", "reply": f"Mail {EMAIL}."})
    answer = _call(gateway, secret, "up/gpt-4o-mini", stream=True)
    assert answer.status_code == 200 and "[EMAIL REDACTED]" in answer.text and EMAIL not in answer.text
    (record,) = world.records(key_id, count=1)
    assert record.status == 200 and record.guardrails == {"pii": 1}
