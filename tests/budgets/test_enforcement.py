"""Budgets on the gateway's request path, through HTTP: each line type refuses on its own with a 412
naming it, a soft line only alerts, month-to-date spend shows in the management API, and without its
Redis the gateway fails closed on hard budgets with a clear 503 that /readyz reports too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from covey.app import create_app
from covey.kit.db import Database
from covey.kit.money import nanos_to_text
from tests.budgets.conftest import gateway_settings
from tests.budgets.traffic import recorded, wait_served
from tests.conftest import Api, Org, make_org
from tests.gateway.servers import serve

# Each answer costs $0.0261; the estimate with max_tokens 16 is $0.0345: a $0.10 line takes three.
CHAT = {"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
LIMIT = "0.10"


def send(url: str, api: Api, times: int) -> list[tuple[int, str]]:
    out = []
    for _ in range(times):
        response = httpx.post(f"{url}/v1/chat/completions", json=CHAT, headers=api.headers)
        out.append((response.status_code, response.json().get("error", {}).get("message", "")))
    return out


def member_key(org: Org, group: str | None = None, *, user: str | None = None, **key_fields: Any) -> tuple[str, Api]:
    user = user or org.user()
    if group is not None:
        org.add_member(group, user)
        key_fields["group_id"] = group
    api = org.key(user, manage="none", **key_fields)
    return user, api


def key_name(api: Api) -> str:
    return str(api.get("/v1/manage/apikey/self").json()["name"])


def email_of(org: Org, user: str) -> str:
    return str(org.admin.get(f"/v1/manage/user/{user}").json()["user"]["email"])


Case = Callable[[Org], tuple[Api, str]]


def key_line(org: Org) -> tuple[Api, str]:
    _, api = member_key(org, org.group(), monthly_limit=LIMIT)
    return api, f'Reached monthly budget of API key "{key_name(api)}" ($0.10)'


def user_line(org: Org) -> tuple[Api, str]:
    user, api = member_key(org, org.group(), user=org.user(monthly_limit=LIMIT))
    return api, f'Reached monthly budget of user "{email_of(org, user)}" ($0.10)'


def group_line(org: Org) -> tuple[Api, str]:
    group = org.group("Backend Engineers " + org.id[:4], monthly_budget=LIMIT)
    _, api = member_key(org, group)
    return api, f'Reached monthly budget of group "Backend Engineers {org.id[:4]}" ($0.10)'


def ancestor_line(org: Org) -> tuple[Api, str]:
    parent = org.group("Engineering " + org.id[:4], monthly_budget=LIMIT)
    child = org.group("Platform", parent_id=parent)
    _, api = member_key(org, child)
    return api, f'Reached monthly budget of group "Engineering {org.id[:4]}" ($0.10)'


def member_line(org: Org) -> tuple[Api, str]:
    group = org.group("Per Member " + org.id[:4], monthly_budget_per_user=LIMIT)
    _, api = member_key(org, group)
    return api, f'Reached monthly per-member budget of group "Per Member {org.id[:4]}" ($0.10)'


def org_line(org: Org) -> tuple[Api, str]:
    made = org.admin.post("/v1/manage/budget", json={"owner_type": "org", "amount": LIMIT})
    assert made.status_code == 200, made.text
    _, api = member_key(org)  # a personal key: only the org's line applies
    name = made.json()["budget"]["owner_name"]
    return api, f'Reached monthly budget of organization "{name}" ($0.10)'


@pytest.fixture(scope="module")
def shared_org(client: TestClient, db: Database) -> Org:
    """One organization for the cases whose lines stay within their own objects (making one is slow)."""
    return make_org(client, db, "Budget Lines")


@pytest.mark.parametrize("case", [key_line, user_line, group_line, ancestor_line, member_line, org_line])
def test_each_line_type_blocks_on_its_own(case: Case, shared_org: Org, new_org: Any, budget_gateway: str) -> None:
    # An org line would hold every other case back: it gets an org of its own.
    api, message = case(new_org() if case is org_line else shared_org)
    wait_served(budget_gateway, api.key)
    results = send(budget_gateway, api, 5)
    assert results == [(200, ""), (200, ""), (200, ""), (412, message), (412, message)]


def test_a_per_member_line_leaves_other_members_alone(org: Org, budget_gateway: str) -> None:
    group = org.group(monthly_budget_per_user=LIMIT)
    _, first = member_key(org, group)
    _, second = member_key(org, group)
    wait_served(budget_gateway, second.key)
    assert [s for s, _ in send(budget_gateway, first, 4)] == [200, 200, 200, 412]
    assert [s for s, _ in send(budget_gateway, second, 4)] == [200, 200, 200, 412]


def test_a_soft_line_only_alerts_and_spend_shows(org: Org, db: Database, budget_gateway: str) -> None:
    group = org.group()
    made = org.admin.post(
        "/v1/manage/budget", json={"owner_type": "group", "owner_id": group, "amount": "0.05", "enforcement": "soft"}
    )
    assert made.status_code == 200
    _, api = member_key(org, group)
    wait_served(budget_gateway, api.key)
    assert [s for s, _ in send(budget_gateway, api, 5)] == [200] * 5
    key_id = api.get("/v1/manage/apikey/self").json()["id"]
    _, spend = recorded(db, key_id, count=5)

    def fired() -> list[int]:
        alerts = httpx.get(f"{budget_gateway}/v1/manage/alert", headers=org.admin.headers).json()["alerts"]
        return sorted(a["threshold"] for a in alerts if a["owner_id"] == group)

    for _ in range(200):
        if len(fired()) == 3:
            break
    assert fired() == [50, 80, 100]
    line = httpx.get(f"{budget_gateway}/v1/manage/budget/{made.json()['budget']['id']}", headers=org.admin.headers)
    assert line.json()["budget"]["current_spend"] == nanos_to_text(spend)


def test_without_redis_hard_budgets_fail_closed_with_a_clear_503(org: Org, database_url: str, tmp_path: Path) -> None:
    settings = gateway_settings(database_url, tmp_path / "covey.toml", redis_url="redis://127.0.0.1:1/0")
    _, capped = member_key(org, org.group(monthly_budget="5"))
    _, free = member_key(org, org.group())
    with serve(create_app(settings)) as url:
        wait_served(url, free.key)
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert "budget counters unreachable" in ready.json()["checks"]["budget_counters"]
        status, message = send(url, capped, 1)[0]
        assert status == 503
        assert "Budget counters are unavailable" in message
        assert send(url, free, 1)[0][0] == 200  # no hard line: nothing to check


def test_month_to_date_spend_shows_on_groups_members_keys_and_users(
    org: Org, db: Database, budget_gateway: str
) -> None:
    parent = org.group()
    group = org.group(parent_id=parent)
    user, api = member_key(org, group)
    wait_served(budget_gateway, api.key)
    assert [s for s, _ in send(budget_gateway, api, 2)] == [200, 200]
    key_id = api.get("/v1/manage/apikey/self").json()["id"]
    _, spend = recorded(db, key_id, count=2)
    dollars = spend / 1e9

    def get(path: str) -> Any:
        response = httpx.get(f"{budget_gateway}/v1/manage/{path}", headers=org.admin.headers)
        assert response.status_code == 200, response.text
        return response.json()

    detail = get(f"group/{group}")["group"]
    assert detail["monthly_spend"] == dollars
    assert [m["monthly_spend"] for m in detail["members"] if m["id"] == user] == [dollars]
    assert {g["id"]: g["monthly_spend"] for g in get("group")["groups"]}[parent] == dollars
    assert get("group/tree")["tree"]  # spend is filled through the nested nodes too
    assert get(f"apikey/{key_id}")["monthly_spend"] == nanos_to_text(spend)
    assert get(f"user/{user}")["user"]["monthly_spend"] == dollars


def test_streams_settle_their_real_cost_and_failed_calls_cost_nothing(
    org: Org, db: Database, budget_gateway: str
) -> None:
    _, api = member_key(org, org.group(), monthly_limit=LIMIT)
    wait_served(budget_gateway, api.key)
    key_id = api.get("/v1/manage/apikey/self").json()["id"]
    # Every call to the broken provider fails upstream: its reservations are released, nothing is spent.
    for _ in range(6):
        response = httpx.post(
            f"{budget_gateway}/v1/chat/completions", json={**CHAT, "model": "broken/gpt-4o-mini"}, headers=api.headers
        )
        assert response.status_code >= 500, response.text
    statuses = []
    for _ in range(4):
        with httpx.stream(
            "POST", f"{budget_gateway}/v1/chat/completions", json={**CHAT, "stream": True}, headers=api.headers
        ) as response:
            response.read()
            statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 412]
    records, spend = recorded(db, key_id, count=9)
    assert records == 9  # six failures at no cost, three streams
    assert spend == 3 * 26_100_000
    line = httpx.get(f"{budget_gateway}/v1/manage/budget", params={"owner_id": key_id}, headers=org.admin.headers)
    assert line.json()["budgets"][0]["current_spend"] == nanos_to_text(spend)
