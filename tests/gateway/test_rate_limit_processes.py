"""Rate limits held across two real `covey serve` processes on the same database and the same Redis:
each process has its own memory and event loop, so only the shared windows can make a limit hold."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from covey.config import Settings
from tests.budgets.conftest import REDIS_URL, _redis_unreachable
from tests.conftest import IN_CI
from tests.gateway.conftest import World
from tests.gateway.servers import covey_serve
from tests.gateway.test_rate_limits import chat, served, streams


@pytest.fixture(scope="module")
def processes(gateway_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two `covey serve` processes with the suite's providers (the mock upstream over HTTP)."""
    reason = _redis_unreachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires Redis: {reason}")
        pytest.skip(reason)
    prefix = f"covey-test-{uuid.uuid4().hex[:12]}"
    env = {
        "COVEY_DATABASE_URL": gateway_settings.database_url,
        "COVEY_CONFIG": str(gateway_settings.config),
        "COVEY_REDIS_URL": REDIS_URL,
        "COVEY_REDIS_PREFIX": prefix,
        "COVEY_SNAPSHOT_POLL_SECONDS": "0.05",
        "COVEY_USAGE_FLUSH_SECONDS": "0.05",
    }
    logs: Path = tmp_path_factory.mktemp("serve")
    with covey_serve(env, 2, logs=logs) as urls:
        yield urls
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_five_a_minute_across_two_processes(world: World, processes: list[str]) -> None:
    key_id, secret = world.key(rate_limits={"requests_per_minute": 5})
    name = world.org.admin.get(f"/v1/manage/apikey/{key_id}").json()["name"]
    served(tuple(processes), secret)
    answers = [chat(processes[n % 2], secret) for n in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429], [a.text for a in answers]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    refused = answers[5]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["message"] == f'Rate limit reached: 5 requests per minute on API key "{name}"'
    # Both processes refuse from then on: neither has room of its own.
    assert [chat(url, secret).status_code for url in processes] == [429, 429]


def test_a_group_limit_holds_for_its_subtree_across_two_processes(world: World, processes: list[str]) -> None:
    """Three people's keys in a group, its child and its grandchild share the group's 4 a minute,
    whichever process serves them."""
    top = world.group(f"RLP {uuid.uuid4().hex[:6]}", rate_limits={"requests_per_minute": 4})
    child = world.group("Child", parent_id=top)
    grandchild = world.group("Grandchild", parent_id=child)
    secrets = []
    for group in (top, child, grandchild):
        user = world.org.user()
        world.member(group, user)
        secrets.append(world.key(user, group_id=group)[1])
    for secret in secrets:
        served(tuple(processes), secret)
    statuses = [chat(processes[n % 2], secrets[n % 3]).status_code for n in range(9)]
    assert statuses == [200] * 4 + [429] * 5, statuses
    assert "4 requests per minute on group" in chat(processes[1], secrets[0]).json()["error"]["message"]


def test_two_concurrent_under_twenty_streams_over_two_processes(
    world: World, processes: list[str], upstream_control: httpx.Client
) -> None:
    _, secret = world.key(rate_limits={"concurrent": 2})
    served(tuple(processes), secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "delay_ms": 300, "chunk_delay_ms": 5})

    async def both() -> list[int]:
        halves = await asyncio.gather(*(streams(url, secret, 10) for url in processes))
        return [s for half in halves for s in half]

    statuses = asyncio.run(both())
    assert set(statuses) == {200, 429} and statuses.count(200) >= 2, Counter(statuses)
    assert upstream_control.get("/_mock/peak").json()["gpt-4o"] <= 2
    # Every lease was given back, whichever process took it: two at once are served again.
    assert asyncio.run(streams(processes[1], secret, 2)) == [200, 200]
