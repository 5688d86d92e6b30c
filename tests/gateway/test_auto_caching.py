"""Automatic prompt caching against a real HTTP upstream of Anthropic's dialect (the mock caches prompts
as Anthropic does): the breakpoints it receives, and the cache writes and reads priced from
genai-prices in the usage record, the answer's `usage.cost` and the group report's cache savings."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
from genai_prices import Usage, calc_price

from covey.kit.money import to_nanos
from tests.gateway.conftest import World, wait_until_served

CLAUDE = "claude/claude-sonnet-4-20250514"
SYSTEM = "You are a careful assistant for Acme's support team. " * 120  # ~1,600 tokens
TURN = "Here is the ticket history so far, with every detail the customer gave us. " * 30


def _conversation() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "First question. " + TURN},
        {"role": "assistant", "content": "First answer. " + TURN},
        {"role": "user", "content": "Second question. " + TURN},
        {"role": "assistant", "content": "Second answer. " + TURN},
        {"role": "user", "content": "And now?"},
    ]


def _breakpoints(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        here = [path] if "cache_control" in value else []
        return here + [p for k, v in value.items() for p in _breakpoints(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _breakpoints(v, f"{path}[{i}]")]
    return []


def _chat(gateway: str, secret: str, **extra: Any) -> httpx.Response:
    body = {"model": CLAUDE, "max_tokens": 64, "messages": [{"role": "system", "content": SYSTEM}, *_conversation()]}
    answer = httpx.post(
        f"{gateway}/v1/chat/completions", json={**body, **extra}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200, answer.text
    return answer


def _expected_nanos(record: Any) -> int:
    usage = Usage(
        input_tokens=record.input_tokens,
        cache_read_tokens=record.cached_tokens or None,
        cache_write_tokens=record.cache_write_tokens or None,
        output_tokens=record.output_tokens,
    )
    return to_nanos(Decimal(calc_price(usage, "claude-sonnet-4-20250514", provider_id="anthropic").total_price))


def test_breakpoints_on_the_stable_prefix_and_cache_tokens_priced(
    world: World, gateway: str, upstream_control: httpx.Client
) -> None:
    group = world.group(f"Cache {uuid.uuid4().hex[:6]}", features={"auto_caching": True})
    user = world.org.user()
    world.member(group, user)
    key_id, secret = world.key(user, group_id=group)
    wait_until_served(gateway, secret)

    first = _chat(gateway, secret)
    sent = upstream_control.get("/_mock/last").json()["body"]
    marks = sorted(_breakpoints(sent))
    # The system prompt, the turn two back and the turn before the newest; the newest turn is not cached.
    assert marks == [".messages[1].content[0]", ".messages[3].content[0]", ".system[0]"], marks
    assert len(marks) <= 4
    second = _chat(gateway, secret)

    one, two = world.records(key_id, count=2)
    assert one.cache_write_tokens > 0 and one.cached_tokens == 0
    assert two.cached_tokens == one.cache_write_tokens and two.cache_write_tokens == 0
    assert "auto_caching" in one.features
    for record, answer in ((one, first), (two, second)):
        assert record.cost_nanos == _expected_nanos(record)
        assert answer.json()["usage"]["cost"] == record.cost_nanos / 1e9
        details = answer.json()["usage"]["prompt_tokens_details"]
        assert details == {"cached_tokens": record.cached_tokens, "cache_write_tokens": record.cache_write_tokens}
    assert two.cost_nanos < one.cost_nanos  # the read costs a tenth of the input price

    report = world.org.admin.get(f"/v1/manage/report/group/{group}").json()
    assert Decimal(report["totals"]["cache_savings"]) > 0, report["totals"]


def test_the_callers_own_cache_control_is_left_alone(
    world: World, gateway: str, upstream_control: httpx.Client
) -> None:
    _, secret = world.key(features={"auto_caching": True})
    wait_until_served(gateway, secret)
    body = {
        "model": CLAUDE,
        "max_tokens": 32,
        "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
        "messages": _conversation(),
    }
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    assert httpx.post(f"{gateway}/v1/messages", json=body, headers=headers).status_code == 200
    assert _breakpoints(upstream_control.get("/_mock/last").json()["body"]) == [".system[0]"]


def test_requesty_auto_cache_decides_and_short_prompts_get_none(
    world: World, gateway: str, upstream_control: httpx.Client
) -> None:
    _, plain = world.key()
    _, on = world.key(features={"auto_caching": True})
    wait_until_served(gateway, plain)
    wait_until_served(gateway, on)
    _chat(gateway, plain)
    assert _breakpoints(upstream_control.get("/_mock/last").json()["body"]) == []
    _chat(gateway, plain, requesty={"auto_cache": True})
    assert len(_breakpoints(upstream_control.get("/_mock/last").json()["body"])) == 3
    _chat(gateway, on, requesty={"auto_cache": False})
    assert _breakpoints(upstream_control.get("/_mock/last").json()["body"]) == []
    short = {
        "model": CLAUDE,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
        "requesty": {"auto_cache": True},
    }
    httpx.post(f"{gateway}/v1/chat/completions", json=short, headers={"Authorization": f"Bearer {on}"})
    assert _breakpoints(upstream_control.get("/_mock/last").json()["body"]) == []
    # OpenAI-dialect upstreams are never given Anthropic's breakpoints.
    body = {"model": "up/gpt-4o-mini", "messages": [{"role": "system", "content": SYSTEM}, *_conversation()]}
    httpx.post(f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {on}"})
    assert _breakpoints(upstream_control.get("/_mock/last").json()["body"]) == []


def test_a_group_that_turns_caching_off_wins(world: World, gateway: str, upstream_control: httpx.Client) -> None:
    group = world.group(f"NoCache {uuid.uuid4().hex[:6]}", features={"auto_caching": False})
    user = world.org.user()
    world.member(group, user)
    _, secret = world.key(user, group_id=group, features={"auto_caching": True})
    wait_until_served(gateway, secret)
    _chat(gateway, secret)
    assert _breakpoints(upstream_control.get("/_mock/last").json()["body"]) == []
    refused = httpx.post(
        f"{gateway}/v1/chat/completions",
        json={
            "model": CLAUDE,
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "x"}],
            "requesty": {"auto_cache": True},
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert refused.status_code == 403 and "auto_caching" in refused.json()["error"]["message"]
