"""A hard line bounds real spend (docs/design.md §4), through HTTP against an upstream that writes all it
is allowed to (100,000 tokens, $1.00 of output, when nothing stops it): the cap the reservation paid for
goes upstream, `n` is counted, a stream that reaches its cap is ended with `length`/`max_tokens`, and
what an upstream bills past its cap is recorded as billed and raises an alert naming it. Usage an
upstream reports is bounded and never gives room back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from covey.app import create_app
from covey.config import Settings
from covey.kit.db import Database
from covey.kit.money import NANOS_PER_DOLLAR
from covey.models import UsageRecord
from tests.budgets.conftest import REDIS_URL, _redis_unreachable
from tests.conftest import IN_CI
from tests.gateway.conftest import World, eventually, make_world, wait_until_served
from tests.gateway.servers import serve

LINE = "0.50"
WRITES = 100_000  # tokens, four bytes each: $1.00 at $10 per million output tokens
ASK = [{"role": "user", "content": "write as much as you can"}]


def verbose(control: httpx.Client, **behaviour: Any) -> None:
    for model in ("verbose", "claude-verbose"):
        control.post("/_mock/behaviour", json={"model": model, "writes": WRITES, **behaviour})


def hard_line_key(world: World, gateway: str) -> tuple[str, str]:
    group = world.group(f"Capped {uuid.uuid4().hex[:8]}", monthly_budget=LINE)
    user = world.org.user()
    world.member(group, user)
    key_id, secret = world.key(user, group_id=group)
    wait_until_served(gateway, secret)
    return key_id, secret


def call(gateway: str, secret: str, body: dict[str, Any]) -> tuple[int, list[str]]:
    """(status, finish reasons seen); streams are read to their end."""
    path = "/v1/messages" if body["model"].startswith("claude/") else "/v1/chat/completions"
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.stream("POST", gateway + path, json=body, headers=headers, timeout=60) as response:
        raw = response.read().decode()
    if response.status_code != 200:
        assert json.loads(raw)["error"]["message"]
        return response.status_code, []
    if not body.get("stream"):
        answer = json.loads(raw)
        if "choices" in answer:
            return 200, [c["finish_reason"] for c in answer["choices"]]
        return 200, [answer["stop_reason"]]
    reasons: list[str] = []
    for line in raw.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        assert "error" not in event, event
        for choice in event.get("choices") or ():
            if choice.get("finish_reason"):
                reasons.append(choice["finish_reason"])
        if event.get("type") == "message_delta":
            reasons.append(event["delta"]["stop_reason"])
    return 200, reasons


def spend(world: World, key_id: str, count: int) -> tuple[list[UsageRecord], int]:
    records = world.records(key_id, count=count)
    return records, sum(r.cost_nanos for r in records)


MIX: list[dict[str, Any]] = [
    {"model": "up/verbose", "messages": ASK},
    {"model": "up/verbose", "messages": ASK, "n": 4},
    {"model": "up/verbose", "messages": ASK, "stream": True, "stream_options": {"include_usage": True}},
    {"model": "up/verbose", "messages": ASK, "stream": True, "n": 3},
    {"model": "claude/claude-verbose", "messages": ASK, "max_tokens": 200_000, "stream": True},
    {"model": "claude/claude-verbose", "messages": ASK, "max_tokens": 200_000},
]


def hammer(gateway: str, secret: str, bodies: list[dict[str, Any]]) -> list[tuple[int, list[str]]]:
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(lambda b: call(gateway, secret, b), bodies))


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_24_concurrent_uncapped_requests_stay_within_a_half_dollar_line_and_use_it(
    request: pytest.FixtureRequest, store: str, world: World, upstream_control: httpx.Client
) -> None:
    """The $0.50 line holds with the counters in process and in Redis, and its room is used: once it
    has less left than a 4,096-token answer costs, the next request is sent the cap the room pays for
    (and writes all of it) rather than refused. A cap the caller set is never shrunk: 412 when it does
    not fit."""
    gateway = request.getfixturevalue("gateway" if store == "memory" else "redis_gateway")
    verbose(upstream_control)
    key_id, secret = hard_line_key(world, gateway)
    bodies = [MIX[n % len(MIX)] for n in range(24)]
    results = hammer(gateway, secret, bodies)
    assert all(status in (200, 412) for status, _ in results)
    assert all(status == 412 for (status, _), b in zip(results, bodies, strict=True) if "max_tokens" in b)
    answered = [r for r in results if r[0] == 200]
    # Each answered request wrote its whole paid cap, and said so.
    assert answered and all(reasons and set(reasons) <= {"length", "max_tokens"} for _, reasons in answered)
    records, total = spend(world, key_id, len(answered))
    line = int(LINE.replace(".", "")) * NANOS_PER_DOLLAR // 100
    assert total <= line
    # What is left is what the prompts' reserved bound was above their real tokens, and under a token's price.
    assert total >= line * 98 // 100, total
    full = {4096 * n for n in (1, 3, 4)}
    shrunk = [r.output_tokens for r in records if r.output_tokens not in full]
    assert shrunk and all(0 < tokens < 4 * 4096 for tokens in shrunk), shrunk
    # Without a cap of its own, a request went upstream with the one its reservation paid for.
    last = upstream_control.get("/_mock/last").json()["body"]
    assert last.get("max_tokens") or last.get("max_completion_tokens")


def test_a_request_is_refused_only_when_not_one_token_fits(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    """One after another on a $0.50 line: full answers, then one shrunk to what is left, then 412."""
    verbose(upstream_control)
    key_id, secret = hard_line_key(world, gateway)
    statuses = [call(gateway, secret, {"model": "up/verbose", "messages": ASK})[0] for _ in range(14)]
    answered = statuses.count(200)
    assert statuses == [200] * answered + [412] * (14 - answered)
    records = sorted(world.records(key_id, count=answered), key=lambda r: r.output_tokens)
    assert [r.output_tokens for r in records[1:]] == [4096] * (answered - 1)
    assert 0 < records[0].output_tokens < 4096
    line = int(LINE.replace(".", "")) * NANOS_PER_DOLLAR // 100
    left = line - sum(r.cost_nanos for r in records)
    assert 0 <= left < line // 100


def test_without_a_cap_of_its_own_a_request_gets_the_models_output_window(
    world: World, gateway: str, upstream_control: httpx.Client
) -> None:
    """`up/steady` writes at most 1,000 tokens (covey.toml): the cap Covey sets and reserves is that,
    not the 4,096 default, so the model is never asked for more than it can write."""
    _, secret = hard_line_key(world, gateway)
    status, _ = call(gateway, secret, {"model": "up/steady", "messages": ASK})
    assert status == 200
    assert upstream_control.get("/_mock/last").json()["body"]["max_tokens"] == 1000
    status, _ = call(gateway, secret, {"model": "up/gpt-4o-mini", "messages": ASK})
    assert status == 200
    assert upstream_control.get("/_mock/last").json()["body"]["max_tokens"] == 4096


def test_streams_from_an_upstream_that_ignores_its_cap_are_ended_at_it(
    gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    verbose(upstream_control, ignore_cap=True)
    key_id, secret = hard_line_key(world, gateway)
    streams = [b for b in MIX if b.get("stream")]
    results = hammer(gateway, secret, [streams[n % len(streams)] for n in range(24)])
    answered = [r for r in results if r[0] == 200]
    assert answered
    assert all(reasons and set(reasons) <= {"length", "max_tokens"} for _, reasons in answered)
    records, total = spend(world, key_id, len(answered))
    assert total <= int(LINE.replace(".", "")) * NANOS_PER_DOLLAR // 100
    cut = [r for r in records if r.status == 200]
    assert cut and all(r.output_tokens < WRITES for r in cut)


def alerts_about(world: World, provider: str) -> list[dict[str, Any]]:
    found = world.org.admin.get("/v1/manage/alert").json()["alerts"]
    return [a for a in found if a["owner_type"] == "provider" and a["owner_id"] == provider]


def test_billing_past_the_cap_is_recorded_as_billed_and_alerted(
    gateway: str, client: TestClient, db: Database, upstream_control: httpx.Client
) -> None:
    world = make_world(client, db)  # its own organization: the alert fires once a day per provider
    verbose(upstream_control, ignore_cap=True)
    key_id, secret = hard_line_key(world, gateway)
    status, _ = call(gateway, secret, {"model": "up/verbose", "messages": ASK, "max_tokens": 50})
    assert status == 200
    (record,) = world.records(key_id, count=1)
    assert record.output_tokens == WRITES  # what the upstream billed, not what it was allowed
    assert record.cost_nanos >= NANOS_PER_DOLLAR
    (alert,) = eventually(lambda: alerts_about(world, "up"))
    assert alert["payload"]["type"] == "provider.output.beyond_cap"
    assert alert["payload"]["provider"]["model"] == "up/verbose"
    assert alert["payload"]["threshold"]["value"] == 50 and alert["payload"]["threshold"]["reported"] == WRITES


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -5, "completion_tokens": -999_999_999_999},
        {"prompt_tokens": 2**62, "completion_tokens": 1e308, "completion_tokens_details": {"reasoning_tokens": -1}},
        {"prompt_tokens": "lots", "completion_tokens": [1], "prompt_tokens_details": "none"},
        {"prompt_tokens": 2**31, "completion_tokens": 2**40, "prompt_tokens_details": {"cached_tokens": 2**50}},
    ],
)
def test_upstream_usage_is_bounded_and_never_gives_room_back(
    gateway: str, world: World, upstream_control: httpx.Client, usage: dict[str, Any]
) -> None:
    verbose(upstream_control, usage=usage)
    key_id, secret = hard_line_key(world, gateway)
    answered = 0
    for body in ({"model": "up/verbose", "messages": ASK, "max_tokens": 5}, {**MIX[2], "max_tokens": 5}):
        status, _ = call(gateway, secret, body)
        assert status in (200, 412)  # absurd usage fills the line: then a refusal, never a 500
        answered += status == 200
    records = world.records(key_id, count=answered)
    for r in records:
        assert r.cost_nanos >= 0 and r.input_tokens >= 0 and r.output_tokens >= 0
        assert r.cached_tokens <= r.input_tokens and r.reasoning_tokens <= r.output_tokens
        assert max(r.input_tokens, r.output_tokens) <= 2**31 - 1
    # Metering goes on: a plain request after these is written too.
    upstream_control.post("/_mock/reset")
    other_id, other = hard_line_key(world, gateway)
    assert call(gateway, other, {"model": "up/gpt-4o-mini", "messages": ASK, "max_tokens": 5})[0] == 200
    world.records(other_id, count=1)


@pytest.fixture(scope="module")
def redis_gateway(gateway_settings: Settings) -> Iterator[str]:
    """Covey with its budget counters in Redis (a key prefix of its own)."""
    reason = _redis_unreachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires Redis: {reason}")
        pytest.skip(reason)
    prefix = f"covey-test-{uuid.uuid4().hex[:12]}"
    settings = gateway_settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix})
    with serve(create_app(settings)) as url:
        yield url
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_in_redis_mode_absurd_usage_is_bounded_and_the_line_holds(
    redis_gateway: str, world: World, upstream_control: httpx.Client
) -> None:
    verbose(upstream_control, usage={"prompt_tokens": 2**62, "completion_tokens": -(2**62)})
    key_id, secret = hard_line_key(world, redis_gateway)
    statuses = [call(redis_gateway, secret, {"model": "up/verbose", "messages": ASK})[0] for _ in range(3)]
    assert statuses[0] == 200 and set(statuses[1:]) == {412}  # absurd usage fills the line: refusals, no 500
    (record,) = world.records(key_id, count=1)
    assert record.input_tokens == 2**31 - 1 and record.output_tokens == 0
    verbose(upstream_control)
    other_id, other = hard_line_key(world, redis_gateway)
    results = hammer(redis_gateway, other, [MIX[n % len(MIX)] for n in range(24)])
    answered = [r for r in results if r[0] == 200]
    _, total = spend(world, other_id, len(answered))
    assert answered and total <= int(LINE.replace(".", "")) * NANOS_PER_DOLLAR // 100
