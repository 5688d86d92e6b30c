"""Rate limits through HTTP: in one process (windows in process) and in two Covey servers sharing
Redis, each with windows of its own but one store, so a limit holds across both."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from covey.app import create_app
from covey.budgets.estimate import prompt_tokens, token_estimate
from covey.config import Settings
from tests.budgets.conftest import REDIS_URL, _redis_unreachable
from tests.conftest import IN_CI
from tests.gateway.conftest import World, wait_until_served
from tests.gateway.servers import serve

CHAT = {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}


@pytest.fixture(scope="module")
def pair(gateway_settings: Settings) -> Iterator[tuple[str, str]]:
    """Two Covey servers on the same database and the same Redis."""
    reason = _redis_unreachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires Redis: {reason}")
        pytest.skip(reason)
    prefix = f"covey-test-{uuid.uuid4().hex[:12]}"
    settings = gateway_settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": prefix})
    with serve(create_app(settings)) as one, serve(create_app(settings)) as two:
        yield one, two
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def chat(url: str, secret: str, body: dict[str, Any] = CHAT) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"})


def served(urls: tuple[str, ...], secret: str) -> None:
    for url in urls:
        wait_until_served(url, secret)


def test_five_a_minute_lets_five_through_and_refuses_the_sixth(world: World, gateway: str) -> None:
    key_id, secret = world.key(rate_limits={"requests_per_minute": 5})
    name = world.org.admin.get(f"/v1/manage/apikey/{key_id}").json()["name"]
    served((gateway,), secret)
    answers = [chat(gateway, secret) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert all(a.headers["x-ratelimit-limit-requests"] == "5" for a in answers)
    refused = answers[5]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["error"]
    assert error["message"] == f'Rate limit reached: 5 requests per minute on API key "{name}"'
    assert error["code"] == 429 and error["origin"] == "router" and error["type"] == "rate_limit_error"


def test_across_two_servers_on_redis(world: World, pair: tuple[str, str]) -> None:
    _, secret = world.key(rate_limits={"requests_per_minute": 5})
    served(pair, secret)
    statuses = [chat(pair[n % 2], secret).status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    # Either server refuses from then on.
    assert chat(pair[0], secret).status_code == 429
    assert chat(pair[1], secret).status_code == 429


def test_anthropic_callers_get_anthropics_error_shape(world: World, gateway: str) -> None:
    _, secret = world.key(rate_limits={"requests_per_minute": 1})
    served((gateway,), secret)
    body = {
        "model": "claude/claude-sonnet-4-20250514",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
    assert httpx.post(f"{gateway}/v1/messages", json=body, headers=headers).status_code == 200
    refused = httpx.post(f"{gateway}/v1/messages", json=body, headers=headers)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert refused.json()["type"] == "error"
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert "1 requests per minute" in refused.json()["error"]["message"]


@pytest.mark.parametrize("where", ["one", "two"])
def test_a_group_limit_holds_for_its_whole_subtree(
    world: World, gateway: str, pair: tuple[str, str], where: str
) -> None:
    """Three keys of three people in a group and its subgroups share the group's 4 a minute."""
    urls = (gateway,) if where == "one" else pair
    top = world.group(f"RL {uuid.uuid4().hex[:6]}", rate_limits={"requests_per_minute": 4})
    child = world.group("Child", parent_id=top)
    grandchild = world.group("Grandchild", parent_id=child)
    secrets = []
    for group in (top, child, grandchild):
        user = world.org.user()
        world.member(group, user)
        secrets.append(world.key(user, group_id=group)[1])
    for secret in secrets:
        served(urls, secret)
    statuses = [chat(urls[n % len(urls)], secrets[n % 3]).status_code for n in range(9)]
    assert Counter(statuses) == Counter({200: 4, 429: 5}), statuses
    assert statuses[:4] == [200] * 4
    refused = chat(urls[0], secrets[2])
    assert "4 requests per minute on group" in refused.json()["error"]["message"]
    # Another group's key is not touched by it.
    _, other = world.key()
    served(urls, other)
    assert chat(urls[0], other).status_code == 200


def test_per_member_limit_and_the_members_own_rate_limit(world: World, gateway: str) -> None:
    group = world.group(f"PM {uuid.uuid4().hex[:6]}", rate_limits_per_member={"requests_per_minute": 3})
    alice, bob = world.org.user(), world.org.user()
    world.member(group, alice)
    world.member(group, bob)
    answer = world.org.admin.put(f"/v1/manage/group/{group}/member/{bob}/rate-limit", json={"rate_limit": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["member"]["rate_limit"] == 1
    detail = world.org.admin.get(f"/v1/manage/group/{group}").json()["group"]
    assert {m["id"]: m["rate_limit"] for m in detail["members"]} == {alice: None, bob: 1}
    assert detail["rate_limits_per_member"]["requests_per_minute"] == 3
    alice_keys = [world.key(alice, group_id=group)[1] for _ in range(2)]
    bob_key = world.key(bob, group_id=group)[1]
    for secret in [*alice_keys, bob_key]:
        served((gateway,), secret)
    # Alice's two keys share her 3; Bob has 1 of his own.
    assert [chat(gateway, alice_keys[n % 2]).status_code for n in range(4)] == [200, 200, 200, 429]
    assert [chat(gateway, bob_key).status_code for _ in range(2)] == [200, 429]
    assert "1 requests per minute per member on group" in chat(gateway, bob_key).json()["error"]["message"]


async def streams(url: str, secret: str, count: int) -> list[int]:
    headers = {"Authorization": f"Bearer {secret}"}
    body = {**CHAT, "model": "up/gpt-4o", "stream": True}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=count)) as http:

        async def one() -> int:
            async with http.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers) as response:
                await response.aread()
                return response.status_code

        return list(await asyncio.gather(*(one() for _ in range(count))))


@pytest.mark.parametrize("where", ["one", "two"])
def test_a_concurrency_limit_of_two_under_twenty_streams(
    world: World, gateway: str, pair: tuple[str, str], upstream_control: httpx.Client, where: str
) -> None:
    urls = (gateway,) if where == "one" else pair
    _, secret = world.key(rate_limits={"concurrent": 2})
    served(urls, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "delay_ms": 300, "chunk_delay_ms": 5})

    async def both() -> list[int]:
        halves = await asyncio.gather(*(streams(u, secret, 20 // len(urls)) for u in urls))
        return [s for half in halves for s in half]

    statuses = asyncio.run(both())
    assert set(statuses) == {200, 429} and statuses.count(200) >= 2, Counter(statuses)
    assert upstream_control.get("/_mock/peak").json()["gpt-4o"] <= 2
    # Every lease was given back: two more at once are served.
    assert asyncio.run(streams(urls[0], secret, 2)) == [200, 200]


def test_tokens_per_minute(world: World, gateway: str) -> None:
    _, secret = world.key(rate_limits={"tokens_per_minute": 100})
    served((gateway,), secret)
    first = chat(gateway, secret)  # holds its estimate: the prompt's bound and its cap of 16
    estimate = token_estimate(CHAT, endpoint="chat", default=0)
    assert first.status_code == 200 and first.headers["x-ratelimit-limit-tokens"] == "100"
    assert first.headers["x-ratelimit-remaining-tokens"] == str(100 - estimate)
    used = first.json()["usage"]["total_tokens"]
    assert used < estimate  # settled to what it used
    second = chat(gateway, secret)
    assert second.headers["x-ratelimit-remaining-tokens"] == str(100 - used - estimate)
    spent = used + second.json()["usage"]["total_tokens"]
    while 100 - spent >= estimate:
        spent += chat(gateway, secret).json()["usage"]["total_tokens"]
    refused = chat(gateway, secret)  # some tokens are left, fewer than it may use
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert refused.json()["error"]["message"].startswith("Rate limit reached: 100 tokens per minute on API key")
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"


def test_a_request_larger_than_a_tokens_limit_is_told_so(world: World, gateway: str) -> None:
    key_id, secret = world.key(rate_limits={"tokens_per_minute": 10})
    name = world.org.admin.get(f"/v1/manage/apikey/{key_id}").json()["name"]
    served((gateway,), secret)
    refused = chat(gateway, secret)
    assert refused.status_code == 400 and "retry-after" not in refused.headers  # no wait would help
    assert refused.json()["error"]["message"] == (
        f'Request too large for 10 tokens per minute on API key "{name}": it may use '
        f"{token_estimate(CHAT, endpoint='chat', default=0)} tokens (prompt and output cap); "
        "lower max_tokens or shorten the prompt"
    )


def test_a_request_without_a_cap_is_sent_the_cap_the_minute_has_room_for(
    world: World, gateway: str, upstream_control: httpx.Client
) -> None:
    _, secret = world.key(rate_limits={"tokens_per_minute": 300})
    served((gateway,), secret)
    body = {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert chat(gateway, secret, body).status_code == 200
    assert upstream_control.get("/_mock/last").json()["body"]["max_tokens"] == 300 - prompt_tokens(body)
    # A cap of its own is never changed.
    assert chat(gateway, secret, {**body, "max_tokens": 20}).status_code == 200
    assert upstream_control.get("/_mock/last").json()["body"]["max_tokens"] == 20


def test_a_cap_its_budget_lowers_lowers_what_it_holds(
    world: World, gateway: str, upstream: str, upstream_control: httpx.Client
) -> None:
    """Two keys share a group's 100,000 tokens a minute; one has a budget that pays for about 100
    output tokens. Its request is admitted holding its prompt and the default cap of 4,096, then
    sent the cap its budget pays for, and from then on holds only that: a request of the other key
    made meanwhile sees the smaller hold."""
    group = world.group(f"TB {uuid.uuid4().hex[:6]}", rate_limits={"tokens_per_minute": 100_000})
    user = world.org.user()
    world.member(group, user)
    _, tight = world.key(user, group_id=group, monthly_limit="0.001")
    _, free = world.key(user, group_id=group)
    served((gateway,), tight)
    served((gateway,), free)
    upstream_control.post("/_mock/behaviour", json={"model": "verbose", "writes": 10_000, "delay_ms": 1500})
    slow = {"model": "up/verbose", "messages": [{"role": "user", "content": "write"}]}

    async def both() -> tuple[httpx.Response, httpx.Response, int]:
        async with httpx.AsyncClient(timeout=30) as http:
            first = asyncio.ensure_future(
                http.post(f"{gateway}/v1/chat/completions", json=slow, headers={"Authorization": f"Bearer {tight}"})
            )
            for _ in range(500):  # until the upstream has it (and holds it for 1.5 s)
                if (await http.get(f"{upstream}/_mock/calls")).json().get("verbose"):
                    break
                await asyncio.sleep(0.01)
            sent = (await http.get(f"{upstream}/_mock/last")).json()["body"]["max_tokens"]
            second = await http.post(
                f"{gateway}/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {free}"}
            )
            return await first, second, sent

    first, second, cap = asyncio.run(both())
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    assert 0 < cap < 4096 and first.json()["usage"]["completion_tokens"] == cap
    held = prompt_tokens(slow) + cap
    remaining = 100_000 - held - token_estimate(CHAT, endpoint="chat", default=0)
    assert second.headers["x-ratelimit-remaining-tokens"] == str(remaining)


async def _chats(url: str, secret: str, body: dict[str, Any], count: int) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=count)) as http:
        return list(
            await asyncio.gather(
                *(http.post(f"{url}/v1/chat/completions", json=body, headers=headers) for _ in range(count))
            )
        )


@pytest.mark.parametrize("where", ["one", "two"])
def test_concurrent_requests_never_take_a_tokens_limit_past_its_amount(
    world: World, gateway: str, pair: tuple[str, str], upstream_control: httpx.Client, where: str
) -> None:
    """20 requests at once, each allowed 100 output tokens and writing them all, on 400 tokens a
    minute: counting only finished requests would let all 20 through (over 2,000 tokens); holding
    each one's estimate lets through only what fits."""
    urls = (gateway,) if where == "one" else pair
    key_id, secret = world.key(rate_limits={"tokens_per_minute": 400})
    served(urls, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "writes": 1000, "delay_ms": 300})
    body = {**CHAT, "model": "up/gpt-4o", "max_tokens": 100}

    async def all_of_them() -> list[httpx.Response]:
        halves = await asyncio.gather(*(_chats(u, secret, body, 20 // len(urls)) for u in urls))
        return [r for half in halves for r in half]

    answers = asyncio.run(all_of_them())
    served_ = [a for a in answers if a.status_code == 200]
    assert Counter(a.status_code for a in answers) == Counter({200: len(served_), 429: 20 - len(served_)})
    assert 1 <= len(served_) <= 400 // token_estimate(body, endpoint="chat", default=0)
    records = world.records(key_id, count=len(served_))  # the refused left no record
    assert len(records) == len(served_)
    assert all(r.output_tokens == 100 for r in records)
    assert sum(r.input_tokens + r.output_tokens for r in records) <= 400


def test_the_tightest_limit_names_the_headers(world: World, gateway: str) -> None:
    group = world.group(f"T {uuid.uuid4().hex[:6]}", rate_limits={"requests_per_minute": 100})
    user = world.org.user()
    world.member(group, user)
    _, secret = world.key(user, group_id=group, rate_limits={"requests_per_minute": 50})
    served((gateway,), secret)
    assert chat(gateway, secret).headers["x-ratelimit-limit-requests"] == "50"
    assert "x-ratelimit-limit-tokens" not in chat(gateway, secret).headers


def test_refusals_are_counted_in_metrics(world: World, gateway: str) -> None:
    _, secret = world.key(rate_limits={"requests_per_minute": 1})
    served((gateway,), secret)

    def refused() -> float:
        text = httpx.get(f"{gateway}/metrics").text
        line = 'covey_gateway_rate_limited_total{kind="requests_per_minute",owner="key"}'
        return sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))

    before = refused()
    chat(gateway, secret)
    assert chat(gateway, secret).status_code == 429
    assert refused() == before + 1


def test_a_request_a_budget_refuses_uses_no_rate(world: World, gateway: str) -> None:
    """Refused after admission (by a hard budget), a request gives its place in the window back."""
    # Limit and rate come with the key, so the gateway serves the key with both (a limit set afterwards
    # could reach the gateway a poll later than the key, and the first request would pass).
    key_id, secret = world.key(rate_limits={"requests_per_minute": 1}, monthly_limit="0.000000001")
    served((gateway,), secret)
    for _ in range(3):
        assert chat(gateway, secret).status_code == 412
    world._ok(world.org.admin.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": 0}))
    ok = None
    for _ in range(100):
        ok = chat(gateway, secret)
        if ok.status_code != 412:
            break
    assert ok is not None and ok.status_code == 200, ok.text if ok else None


def test_bad_limits_are_refused_and_change_nothing(world: World) -> None:
    for bad in ({"requests_per_minute": -1}, {"requests_per_minute": "5"}, {"per_hour": 5}, {"concurrent": True}):
        answer = world.org.admin.post("/v1/manage/apikey", json={"name": "x", "rate_limits": bad})
        assert answer.status_code == 400, (bad, answer.text)
        assert "rate_limits" in answer.text


def test_those_below_can_lower_a_limit_never_raise_it(world: World) -> None:
    """A member cannot lift their own key's limit, nor a group admin their own group's."""
    group = world.group(f"A {uuid.uuid4().hex[:6]}", rate_limits={"requests_per_minute": 10})
    admin = world.org.user()
    world.org.add_member(group, admin, role="admin")
    admin_api = world.org.key(admin, manage="write")
    patch = admin_api.patch(f"/v1/manage/group/{group}", json={"rate_limits": {"requests_per_minute": 1000}})
    assert patch.status_code == 403, patch.text
    removed = admin_api.patch(f"/v1/manage/group/{group}", json={"rate_limits": {"requests_per_minute": 0}})
    assert removed.status_code == 403
    lowered = admin_api.patch(f"/v1/manage/group/{group}", json={"rate_limits": {"requests_per_minute": 5}})
    assert lowered.status_code == 200 and lowered.json()["group"]["rate_limits"]["requests_per_minute"] == 5

    member = world.org.user()
    world.org.add_member(group, member)
    key_id, _ = world.key(member, group_id=group, rate_limits={"requests_per_minute": 3})
    member_api = world.org.key(member, manage="write")
    raised = member_api.patch(f"/v1/manage/apikey/{key_id}", json={"rate_limits": {"requests_per_minute": 30}})
    assert raised.status_code == 403, raised.text
    assert member_api.patch(f"/v1/manage/apikey/{key_id}", json={"rate_limits": {"concurrent": 1}}).status_code == 200
    shown = world.org.admin.get(f"/v1/manage/apikey/{key_id}").json()
    assert shown["rate_limits"] == {"requests_per_minute": 3, "tokens_per_minute": None, "concurrent": 1}
    audit = world.org.admin.get(f"/v1/manage/audit?target_id={key_id}").json()
    assert any(e["after"]["rate_limits"] == {"requests_per_minute": 3, "concurrent": 1} for e in audit["events"])


def test_org_and_user_limits(world: World, gateway: str, new_org: Any) -> None:
    org = new_org("Limited Org")
    answer = org.admin.patch("/v1/manage/org", json={"rate_limits": {"requests_per_minute": 2}})
    assert answer.status_code == 200 and answer.json()["rate_limits"]["requests_per_minute"] == 2
    user = org.user(rate_limits={"requests_per_minute": 1})
    shown = org.admin.get(f"/v1/manage/user/{user}").json()
    assert shown["user"]["rate_limits"]["requests_per_minute"] == 1
    one = org.key(user, manage="none").key
    two = org.key(manage="none").key
    served((gateway,), one)
    served((gateway,), two)
    assert chat(gateway, one).status_code == 200
    assert "on user" in chat(gateway, one).json()["error"]["message"]
    assert chat(gateway, two).status_code == 200
    last = chat(gateway, two)
    assert last.status_code == 429 and "on organization" in last.json()["error"]["message"]
