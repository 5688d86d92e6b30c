"""Bad input answers 400 (or 404 for an unknown id) naming the problem, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Org
from tests.groups.acting import GROUPS, audit_events, error_message, members_of

UNKNOWN = "12345678-1234-1234-1234-123456789abc"


def _state(org: Org) -> Any:
    """Everything a refused request must leave as it was."""
    groups = org.admin.get(GROUPS).json()["groups"]
    events = org.admin.get("/v1/manage/audit", params={"action": "group.", "limit": 500}).json()["total"]
    return sorted(groups, key=lambda g: g["id"]), events


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 300}, "name"),
        ({"name": 42}, "name"),
        ({"name": ["a"]}, "name"),
        ({"name": "ok", "kind": "tribe"}, "kind"),
        ({"name": "ok", "default": "yes"}, "default"),
        ({"name": "ok", "monthly_limit": "lots"}, "monthly_limit"),
        ({"name": "ok", "monthly_limit": -5}, "monthly_limit"),
        ({"name": "ok", "monthly_budget": True}, "monthly_budget"),
        ({"name": "ok", "monthly_limit": 5, "monthly_budget_per_user": 6}, "monthly_budget_per_user"),
        ({"name": "ok", "expires_at": "next tuesday"}, "expires_at"),
        ({"name": "ok", "features": {"streaming": "off"}}, "features"),
        ({"name": "ok", "features": {"Bad Name!": True}}, "features"),
        ({"name": "ok", "features": ["streaming"]}, "features"),
        ({"name": "ok", "description": "d" * 3000}, "description"),
        ({"name": "ok", "parent_id": 7}, "parent_id"),
        ({"name": "ok", "colour": "red"}, "colour"),
    ],
)
def test_create_refuses_bad_fields(org: Org, body: dict[str, Any], named: str) -> None:
    org.group("Existing")
    before = _state(org)
    response = org.admin.post(GROUPS, json=body)
    assert response.status_code == 400, response.text
    assert named in error_message(response)
    assert _state(org) == before


def test_malformed_json_and_wrong_body_types(org: Org) -> None:
    group = org.group("Target")
    user = org.user()
    before = _state(org)
    headers = {"Content-Type": "application/json"}
    for method, path in [
        ("POST", GROUPS),
        ("PATCH", f"{GROUPS}/{group}"),
        ("POST", f"{GROUPS}/{group}/member"),
        ("POST", f"{GROUPS}/{group}/members"),
        ("POST", f"{GROUPS}/{group}/member/{user}/move"),
        ("PUT", f"{GROUPS}/{group}/member/{user}/role"),
    ]:
        response = org.admin.request(method, path, content=b'{"name": "x",', headers=headers)
        assert response.status_code == 400, (method, path, response.text)
        assert "JSON" in error_message(response)
        not_an_object = org.admin.request(method, path, json=["x"])
        assert not_an_object.status_code == 400, (method, path, not_an_object.text)
    assert _state(org) == before


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("member", {"role": "member"}, "user_id"),
        ("member", {"user_id": "{user}", "role": "owner"}, "role"),
        ("member", {"user_id": 5}, "user_id"),
        ("members", {"user_ids": []}, "user_ids"),
        ("members", {"user_ids": "{user}"}, "user_ids"),
        ("members", {"user_ids": ["{user}"], "role": "boss"}, "role"),
        ("member/{user}/role", {"role": "king"}, "role"),
        ("member/{user}/role", {}, "role"),
        ("member/{user}/move", {}, "to_group_id"),
        ("member/{user}/move", {"to_group_id": "{group}", "role": "chief"}, "role"),
    ],
)
def test_member_routes_refuse_bad_fields(org: Org, path: str, body: dict[str, Any], named: str) -> None:
    group = org.group("G")
    user = org.user()
    org.add_member(group, user)
    fill = {"user": user, "group": group}
    body = {
        k: (v.format(**fill) if isinstance(v, str) else [x.format(**fill) for x in v] if isinstance(v, list) else v)
        for k, v in body.items()
    }
    method = "PUT" if path.endswith("/role") else "POST"
    before = _state(org)
    response = org.admin.request(method, f"{GROUPS}/{group}/{path.format(**fill)}", json=body)
    assert response.status_code == 400, response.text
    assert named in error_message(response)
    assert _state(org) == before and members_of(org, group) == {user: "member"}


def test_patch_refuses_bad_fields_and_nulls(org: Org) -> None:
    group = org.group("Patchy", description="as it was")
    before = _state(org)
    for body, named in [
        ({"name": None}, "name"),
        ({"kind": None}, "kind"),
        ({"default": None}, "default"),
        ({"features": None}, "features"),
        ({"name": "x" * 300}, "name"),
        ({"kind": "cult"}, "kind"),
        ({"parent_id": ["x"]}, "parent_id"),
        ({"unknown": 1}, "unknown"),
    ]:
        response = org.admin.patch(f"{GROUPS}/{group}", json=body)
        assert response.status_code == 400, (body, response.text)
        assert named in error_message(response), body
    assert _state(org) == before
    assert audit_events(org, group, "group.update") == []


def test_unknown_ids_answer_404_naming_them(org: Org) -> None:
    group = org.group("Known")
    user = org.user()
    before = _state(org)
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", GROUPS, {"name": "orphan", "parent_id": UNKNOWN}),
        ("PATCH", f"{GROUPS}/{group}", {"parent_id": UNKNOWN}),
        ("POST", GROUPS, {"name": "listless", "access_list_id": UNKNOWN}),
        ("PATCH", f"{GROUPS}/{group}", {"access_list_id": UNKNOWN}),
        ("POST", f"{GROUPS}/{group}/member", {"user_id": UNKNOWN, "role": "member"}),
        ("PUT", f"{GROUPS}/{group}/member/{UNKNOWN}/role", {"role": "admin"}),
        ("POST", f"{GROUPS}/{group}/member/{user}/move", {"to_group_id": UNKNOWN}),
    ]
    for method, path, body in cases:
        response = org.admin.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert UNKNOWN in error_message(response), (method, path)
    for method, path in [
        ("GET", f"{GROUPS}/{UNKNOWN}"),
        ("PATCH", f"{GROUPS}/{UNKNOWN}"),
        ("DELETE", f"{GROUPS}/{UNKNOWN}"),
    ]:
        response = org.admin.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404 and error_message(response) == "group not found"
    bad_flag = org.admin.delete(f"{GROUPS}/{group}", params={"recursive": "perhaps"})
    assert bad_flag.status_code == 400 and "recursive" in error_message(bad_flag)
    assert _state(org) == before
