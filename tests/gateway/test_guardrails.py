"""Guardrails through HTTP with a real upstream: what the upstream receives and what the caller gets
back never hold the values found (plain and streamed, both dialects); hits are counted per category in
the usage record and the audit log, never the text; block mode refuses with 400 naming the category."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from covey.models import AuditEvent
from tests.gateway.conftest import World, eventually, wait_until_served

EMAIL = "alice.smith@example.com"
CARD = "4111 1111 1111 1111"
SECRET = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
PROMPT = f"My email is {EMAIL} and my card is {CARD}. Summarize."
# What the upstream answers: values of its own, which must not reach the caller.
REPLY = (
    f"Sure. Write to bob.jones@example.org, key {SECRET}, card 5555 5555 5555 4444, IBAN GB82 WEST 1234 5698 7654 32."
)
VALUES = [EMAIL, CARD, "bob.jones@example.org", SECRET, "5555 5555 5555 4444", "GB82 WEST 1234 5698 7654 32"]


def _guarded(world: World, modes: dict[str, Any], **key: Any) -> tuple[str, str]:
    group = world.group(f"G {uuid.uuid4().hex[:6]}", guardrails=modes)
    user = world.org.user()
    world.member(group, user)
    key_id, secret = world.key(user, group_id=group, **key)
    return key_id, secret


def _none_of(values: list[str], text: str) -> None:
    for value in values:
        assert value not in text, value


def _sse_data(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


@pytest.fixture
def replying(upstream_control: httpx.Client) -> httpx.Client:
    for model in ("gpt-4o-mini", "claude-sonnet-4-20250514"):
        upstream_control.post("/_mock/behaviour", json={"model": model, "reply": REPLY})
    return upstream_control


def test_plain_request_and_answer_are_masked(world: World, gateway: str, replying: httpx.Client) -> None:
    key_id, secret = _guarded(world, {"pii": "mask", "financial": True, "secrets": "mask"}, logging=True)
    wait_until_served(gateway, secret)
    body = {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
    answer = httpx.post(f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    sent = orjson.dumps(replying.get("/_mock/last").json()["body"]).decode()
    _none_of(VALUES, sent)
    assert "[EMAIL REDACTED]" in sent and "[CARD NUMBER REDACTED]" in sent
    _none_of(VALUES, answer.text)
    content = answer.json()["choices"][0]["message"]["content"]
    assert "[API KEY REDACTED]" in content and "[IBAN REDACTED]" in content and "[EMAIL REDACTED]" in content
    (record,) = world.records(key_id, count=1)
    assert record.guardrails == {"financial": 3, "pii": 2, "secrets": 1}
    # Logged bodies are the masked ones.
    _none_of(VALUES, (record.request_body or "") + (record.response_body or ""))

    def events() -> list[AuditEvent] | None:
        with world.db.sessions() as session:
            rows = list(
                session.scalars(
                    select(AuditEvent).where(AuditEvent.target_id == key_id, AuditEvent.action == "guardrail.masked")
                )
            )
        return rows or None

    (event,) = eventually(events, tries=200)
    assert event.after is not None and event.after["counts"] == {"financial": 3, "pii": 2, "secrets": 1}
    _none_of(VALUES, orjson.dumps(event.after).decode())
    listed = world.org.admin.get("/v1/manage/audit", params={"action": "guardrail.", "target_id": key_id}).json()
    assert [e["action"] for e in listed["events"]] == ["guardrail.masked"]


def test_streamed_openai_answers_are_masked_whole_in_one_chunk(
    world: World, gateway: str, replying: httpx.Client
) -> None:
    key_id, secret = _guarded(world, {"pii": "mask", "financial": "mask", "secrets": "mask"})
    wait_until_served(gateway, secret)
    body = {"model": "up/gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
    with httpx.stream(
        "POST", f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"}
    ) as r:
        assert r.status_code == 200
        text = r.read().decode()
    _none_of(VALUES, orjson.dumps(replying.get("/_mock/last").json()["body"]).decode())
    _none_of(VALUES, text)
    pieces = [c["choices"][0]["delta"].get("content") or "" for c in _sse_data(text) if c.get("choices")]
    joined = "".join(pieces)
    assert joined.startswith("Sure. Write to [EMAIL REDACTED], key [API KEY REDACTED], card [CARD NUMBER REDACTED]")
    assert joined.endswith("IBAN [IBAN REDACTED].")
    for placeholder in ("[EMAIL REDACTED]", "[API KEY REDACTED]", "[CARD NUMBER REDACTED]", "[IBAN REDACTED]"):
        assert any(placeholder in p for p in pieces), placeholder  # never split across chunks
    (record,) = world.records(key_id, count=1)
    assert record.guardrails == {"financial": 3, "pii": 2, "secrets": 1}


def test_streamed_anthropic_answers_are_masked(world: World, gateway: str, replying: httpx.Client) -> None:
    key_id, secret = _guarded(world, {"pii": "mask", "financial": "mask", "secrets": "mask"})
    wait_until_served(gateway, secret)
    body = {
        "model": "claude/claude-sonnet-4-20250514",
        "max_tokens": 200,
        "stream": True,
        "system": f"The user's email is {EMAIL}.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
    }
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", f"{gateway}/v1/messages", json=body, headers=headers) as r:
        assert r.status_code == 200
        text = r.read().decode()
    _none_of(VALUES, orjson.dumps(replying.get("/_mock/last").json()["body"]).decode())
    _none_of(VALUES, text)
    events = _sse_data(text)
    joined = "".join(e["delta"]["text"] for e in events if e.get("type") == "content_block_delta")
    assert "[IBAN REDACTED]" in joined and "[API KEY REDACTED]" in joined
    kinds = [e["type"] for e in events]
    assert kinds.index("content_block_stop") > max(i for i, k in enumerate(kinds) if k == "content_block_delta")
    (record,) = world.records(key_id, count=1)
    assert record.guardrails == {"financial": 3, "pii": 3, "secrets": 1}


def test_block_mode_refuses_naming_the_category(world: World, gateway: str, upstream_control: httpx.Client) -> None:
    key_id, secret = _guarded(world, {"pii": "mask", "secrets": "block"})
    wait_until_served(gateway, secret)
    body = {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": f"deploy with {SECRET} please"}]}
    before = upstream_control.get("/_mock/calls").json().get("gpt-4o-mini", 0)
    refused = httpx.post(f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Request blocked by guardrails: secrets (api key) found"
    _none_of([SECRET], refused.text)
    assert upstream_control.get("/_mock/calls").json().get("gpt-4o-mini", 0) == before
    (record,) = world.records(key_id, count=1)
    assert record.status == 400 and record.guardrails == {"secrets": 1} and record.cost_nanos == 0
    # Text without a secret passes, its email masked.
    ok = httpx.post(
        f"{gateway}/v1/chat/completions",
        json={"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert ok.status_code == 200
    assert "[EMAIL REDACTED]" in orjson.dumps(upstream_control.get("/_mock/last").json()["body"]).decode()


def test_org_wide_guardrails_and_embeddings(
    world: World, gateway: str, new_org: Any, upstream_control: httpx.Client
) -> None:
    org = new_org("Guarded Org")
    assert org.admin.patch("/v1/manage/org", json={"guardrails": {"pii": True}}).status_code == 200
    secret = org.key(manage="none").key
    wait_until_served(gateway, secret)
    body = {"model": "up/text-embedding-3-small", "input": [f"contact {EMAIL}", "nothing here"]}
    answer = httpx.post(f"{gateway}/v1/embeddings", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    assert upstream_control.get("/_mock/last").json()["body"]["input"] == ["contact [EMAIL REDACTED]", "nothing here"]


def test_a_key_or_group_cannot_weaken_what_is_above(world: World) -> None:
    group = world.group(f"W {uuid.uuid4().hex[:6]}", guardrails={"pii": "block"})
    admin = world.org.user()
    world.org.add_member(group, admin, role="admin")
    api = world.org.key(admin, manage="write")
    assert api.patch(f"/v1/manage/group/{group}", json={"guardrails": {"pii": "mask"}}).status_code == 403
    assert api.patch(f"/v1/manage/group/{group}", json={"guardrails": {"secrets": "mask"}}).status_code == 200
    shown = world.org.admin.get(f"/v1/manage/group/{group}").json()["group"]["guardrails"]
    assert shown == {"pii": "block", "secrets": "mask"}
    assert world.org.admin.patch(f"/v1/manage/group/{group}", json={"guardrails": {"pii": "maybe"}}).status_code == 400


def test_guardrails_on_one_key(world: World, gateway: str, upstream_control: httpx.Client) -> None:
    member = world.org.user()
    key_id, secret = world.key(member, guardrails={"pii": "mask"})
    _, plain = world.key(member)
    wait_until_served(gateway, secret)
    wait_until_served(gateway, plain)
    body = {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
    httpx.post(f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"})
    last = orjson.dumps(upstream_control.get("/_mock/last").json()["body"]).decode()
    assert EMAIL not in last and CARD in last  # pii only: the card is not this key's concern
    httpx.post(f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {plain}"})
    assert EMAIL in orjson.dumps(upstream_control.get("/_mock/last").json()["body"]).decode()
    # Its owner cannot switch it off.
    own = world.org.key(member, manage="write")
    assert own.patch(f"/v1/manage/apikey/{key_id}", json={"guardrails": {"pii": False}}).status_code == 403
    assert world.org.admin.get(f"/v1/manage/apikey/{key_id}").json()["guardrails"] == {"pii": "mask"}
