"""A control-plane change reaches the running gateway within 1 second, without a restart."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.gateway.conftest import World, wait_until_served

# At most 20 polls 50 ms apart: the change must be seen within one second.
POLLS, PAUSE = 20, 0.05


def refused_within_a_second(gateway: str, secret: str) -> httpx.Response:

    for _ in range(POLLS):
        response = httpx.post(
            f"{gateway}/v1/chat/completions",
            headers={"Authorization": f"Bearer {secret}"},
            json={"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
        if response.status_code in (401, 403):
            return response
        assert response.status_code == 200
        time.sleep(PAUSE)
    pytest.fail("the change did not reach the gateway within a second")


@pytest.fixture
def team_key(gateway: str, world: World) -> tuple[str, str, str, str]:
    """(user id, group id, key id, secret): a working key in a group its owner belongs to."""
    user = world.org.user()
    group = world.group(f"Team {uuid.uuid4().hex[:6]}")
    world.member(group, user)
    key_id, secret = world.key(user, group_id=group)
    wait_until_served(gateway, secret)
    return user, group, key_id, secret


def test_revoking_a_key(gateway: str, world: World, team_key: tuple[str, str, str, str]) -> None:
    _user, _group, key_id, secret = team_key
    world.revoke(key_id)
    refused = refused_within_a_second(gateway, secret)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Invalid authorization token"


def test_deactivating_the_owner(gateway: str, world: World, team_key: tuple[str, str, str, str]) -> None:
    user, _group, _key_id, secret = team_key
    assert world.org.admin.post(f"/v1/manage/user/{user}/deactivate").status_code == 200
    refused = refused_within_a_second(gateway, secret)
    assert refused.status_code == 403  # a valid key that a rule stops
    assert refused.json()["error"]["message"] == "Invalid authorization token"


def test_removing_the_owner_from_the_group(gateway: str, world: World, team_key: tuple[str, str, str, str]) -> None:
    user, group, _key_id, secret = team_key
    world.remove_member(group, user)
    assert "no longer a member" in refused_within_a_second(gateway, secret).json()["error"]["message"]


def test_deleting_the_group(gateway: str, world: World, team_key: tuple[str, str, str, str]) -> None:
    _user, group, _key_id, secret = team_key
    world.delete_group(group)
    assert "no longer exists" in refused_within_a_second(gateway, secret).json()["error"]["message"]
