"""A change is in force on the process that made it before its API call answers. The server polls
once a minute, so nothing here can pass by waiting: each request right after a change must see it."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx

from covey.kit.db import Database
from tests.budgets.traffic import CHAT, hammer, recorded
from tests.conftest import Org

DOLLAR = 1_000_000_000
REFUSED = (401, 403)


def chat(http: httpx.Client, secret: str) -> httpx.Response:
    return http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"}, json=CHAT)


def team_key(org: Org) -> tuple[str, str, str, str]:
    """(user id, group id, key id, secret) of a member's key in a fresh group."""
    user = org.user()
    group = org.group(f"Team {uuid.uuid4().hex[:6]}")
    org.add_member(group, user)
    key_id, secret = make_key(org, user, group)
    return user, group, key_id, secret


def make_key(org: Org, user: str, group: str | None) -> tuple[str, str]:
    body = {"name": uuid.uuid4().hex[:8], "owner_id": user, "group_id": group}
    made = org.admin.post("/v1/manage/apikey", json=body)
    assert made.status_code == 200, made.text
    return made.json()["api_key_id"], made.json()["api_key"]


def test_a_new_key_answers_200_on_its_first_request(http: httpx.Client, served_org: Org) -> None:
    for _ in range(5):
        _user, _group, _key_id, secret = team_key(served_org)
        response = chat(http, secret)
        assert response.status_code == 200, response.text


def test_a_revoked_key_is_refused_on_the_next_request(http: httpx.Client, served_org: Org) -> None:
    _user, _group, key_id, secret = team_key(served_org)
    assert chat(http, secret).status_code == 200
    assert served_org.admin.delete(f"/v1/manage/apikey/{key_id}").status_code == 204
    refused = chat(http, secret)
    assert refused.status_code in REFUSED
    assert refused.json()["error"]["message"] == "Invalid authorization token"


def test_deactivating_the_owner_refuses_the_next_request(http: httpx.Client, served_org: Org) -> None:
    user, _group, _key_id, secret = team_key(served_org)
    assert chat(http, secret).status_code == 200
    assert served_org.admin.post(f"/v1/manage/user/{user}/deactivate").status_code == 200
    refused = chat(http, secret)
    assert refused.status_code in REFUSED
    assert refused.json()["error"]["message"] == "Invalid authorization token"
    # And back: reactivated, the very next request works again.
    assert served_org.admin.post(f"/v1/manage/user/{user}/activate").status_code == 200
    assert chat(http, secret).status_code == 200


def test_removing_the_owner_from_the_group_refuses_the_next_request(http: httpx.Client, served_org: Org) -> None:
    user, group, _key_id, secret = team_key(served_org)
    assert chat(http, secret).status_code == 200
    assert served_org.admin.delete(f"/v1/manage/group/{group}/member/{user}").status_code == 204
    refused = chat(http, secret)
    assert refused.status_code == 403
    assert "no longer a member" in refused.json()["error"]["message"]


def test_deleting_the_group_refuses_the_next_request(http: httpx.Client, served_org: Org) -> None:
    _user, group, _key_id, secret = team_key(served_org)
    assert chat(http, secret).status_code == 200
    assert served_org.admin.delete(f"/v1/manage/group/{group}").status_code in (200, 204)
    refused = chat(http, secret)
    assert refused.status_code == 403
    assert "no longer exists" in refused.json()["error"]["message"]


def test_a_member_of_a_subgroup_keeps_the_parent_key_until_the_subgroup_moves_away(
    http: httpx.Client, served_org: Org
) -> None:
    """Effective groups: a member of a child belongs to the parent too; moving the child elsewhere
    takes that away at once (the subtree's members are recompiled, not just the moved group's keys)."""
    parent = served_org.group(f"Parent {uuid.uuid4().hex[:6]}")
    child = served_org.group(f"Child {uuid.uuid4().hex[:6]}", parent_id=parent)
    elsewhere = served_org.group(f"Elsewhere {uuid.uuid4().hex[:6]}")
    user = served_org.user()
    served_org.add_member(child, user)
    _key_id, secret = make_key(served_org, user, parent)
    assert chat(http, secret).status_code == 200
    moved = served_org.admin.patch(f"/v1/manage/group/{child}", json={"parent_id": elsewhere})
    assert moved.status_code == 200, moved.text
    refused = chat(http, secret)
    assert refused.status_code == 403
    assert "no longer a member" in refused.json()["error"]["message"]


def test_an_access_list_change_holds_on_the_next_request(http: httpx.Client, served_org: Org) -> None:
    _user, group, _key_id, secret = team_key(served_org)
    made = served_org.admin.post(
        "/v1/manage/access-list", json={"name": uuid.uuid4().hex[:8], "chat": ["mock/gpt-4o"], "embedding": []}
    )
    assert made.status_code == 200, made.text
    attached = served_org.admin.patch(f"/v1/manage/group/{group}", json={"access_list_id": made.json()["id"]})
    assert attached.status_code == 200, attached.text
    refused = chat(http, secret)  # asks for mock/gpt-4o-mini
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Model blocked by policy"


def test_a_budget_set_then_hammered_by_64_clients_is_never_overspent(
    slow_poll_server: str, served_org: Org, db: Database
) -> None:
    _user, group, key_id, secret = team_key(served_org)
    patched = served_org.admin.patch(f"/v1/manage/group/{group}", json={"monthly_budget": "1.00"})
    assert patched.status_code == 200, patched.text
    results = hammer([slow_poll_server], secret, clients=64, each=2)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 412}, statuses
    assert statuses[412] > 0, statuses
    _records, spend = recorded(db, key_id, count=statuses[200])
    assert 0 < spend <= DOLLAR
