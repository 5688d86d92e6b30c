"""Deprovisioning through SCIM reaches the running gateway within its 1-second bound: a deactivated
(or deleted) user's keys stop, and a member removed from a group loses what the group's key gave."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.gateway.conftest import (  # noqa: F401 (fixtures: a real gateway on a real port)
    World,
    gateway,
    gateway_settings,
    upstream,
    wait_until_served,
    world,
)
from tests.scim.conftest import Scim, new_group, new_user, patch_ops, scim_token

# At most 20 polls 50 ms apart: the change must be seen within one second.
POLLS, PAUSE = 20, 0.05


def _refused_within_a_second(base_url: str, secret: str) -> httpx.Response:
    for _ in range(POLLS):
        response = httpx.post(
            f"{base_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {secret}"},
            json={"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
        if response.status_code in (401, 403):
            return response
        assert response.status_code == 200, response.text
        time.sleep(PAUSE)
    pytest.fail("the change did not reach the gateway within a second")


@pytest.fixture
def provisioned(gateway: str, world: World) -> tuple[Scim, str, str, str]:  # noqa: F811
    """(scim client, user id, group id, key secret): a SCIM user in a SCIM group, with a working group key."""
    scim = Scim(world.org.admin.client, scim_token(world.org)[1])
    user = new_user(scim, f"{uuid.uuid4().hex[:8]}@example.com")
    group = new_group(scim, f"Team {uuid.uuid4().hex[:6]}", [user["id"]])
    _key_id, secret = world.key(user["id"], group_id=group["id"])
    wait_until_served(gateway, secret)
    return scim, user["id"], group["id"], secret


def test_active_false_stops_the_users_keys(gateway: str, provisioned: tuple[Scim, str, str, str]) -> None:  # noqa: F811
    scim, user_id, _group_id, secret = provisioned
    response = scim.patch(f"/Users/{user_id}", json=patch_ops({"op": "Replace", "path": "active", "value": "False"}))
    assert response.status_code == 200
    assert _refused_within_a_second(gateway, secret).json()["error"]["message"] == "Invalid authorization token"


def test_delete_stops_the_users_keys(gateway: str, provisioned: tuple[Scim, str, str, str]) -> None:  # noqa: F811
    scim, user_id, _group_id, secret = provisioned
    assert scim.delete(f"/Users/{user_id}").status_code == 204
    assert _refused_within_a_second(gateway, secret).json()["error"]["message"] == "Invalid authorization token"


def test_removing_the_member_stops_the_group_key(gateway: str, provisioned: tuple[Scim, str, str, str]) -> None:  # noqa: F811
    scim, user_id, group_id, secret = provisioned
    remove = {"op": "Remove", "path": "members", "value": [{"value": user_id}]}
    assert scim.patch(f"/Groups/{group_id}", json=patch_ops(remove)).status_code == 200
    assert "no longer a member" in _refused_within_a_second(gateway, secret).json()["error"]["message"]
