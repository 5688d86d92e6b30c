"""Helpers for the group tests: a key acting as a given user, and the audit trail of one target."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, Org

GROUPS = "/v1/manage/group"


def as_user(org: Org, role: str = "member") -> tuple[str, Api]:
    """A new user of `org` with the given org role, and a manage-write key of theirs."""
    user_id = org.user(role=role)
    return user_id, org.key(owner_id=user_id)


def audit_events(org: Org, target_id: str, action: str | None = None) -> list[dict[str, Any]]:
    params = {"target_id": target_id, "limit": 500}
    if action:
        params["action"] = action
    response = org.admin.get("/v1/manage/audit", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def members_of(org: Org, group_id: str) -> dict[str, str]:
    """user id → role, as the group's detail shows them."""
    response = org.admin.get(f"{GROUPS}/{group_id}")
    assert response.status_code == 200, response.text
    return {m["id"]: m["role"] for m in response.json()["group"]["members"]}


def error_message(response: Any) -> str:
    body = response.json()
    assert body["error"]["origin"] == "router", body
    return str(body["error"]["message"])
