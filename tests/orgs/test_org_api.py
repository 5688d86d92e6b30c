"""The organization's settings: Covey's PATCH /org and Requesty's group default access list."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org


def _org(org: Org) -> dict[str, Any]:
    response = org.admin.get("/v1/manage/org")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_get_org(org: Org) -> None:
    data = _org(org)
    assert data["id"] == org.id and data["name"] == "Test Org"
    assert data["approved_models"] == [] and data["timezone"] == "UTC" and data["default_monthly_limit"] is None


def test_patch_org_round_trip_and_audit(org: Org) -> None:
    response = org.admin.patch(
        "/v1/manage/org",
        json={
            "name": "Acme",
            "approved_models": ["openai/gpt-4o", "anthropic/claude-sonnet-4"],
            "default_monthly_limit": "12.5",
            "timezone": "Europe/Paris",
            "guardrails": {"pii": True, "secrets": False},
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["name"] == "Acme" and data["timezone"] == "Europe/Paris"
    assert data["approved_models"] == ["openai/gpt-4o", "anthropic/claude-sonnet-4"]
    assert data["default_monthly_limit"] == 12.5
    assert data["guardrails"] == {"pii": True, "secrets": False}
    # Guardrail toggles not named keep their value; money as a number; 0 means no default limit.
    again = org.admin.patch("/v1/manage/org", json={"guardrails": {"financial": True}, "default_monthly_limit": 7})
    assert again.json()["guardrails"] == {"pii": True, "secrets": False, "financial": True}
    assert again.json()["default_monthly_limit"] == 7
    # New users take the org's default limit.
    user = org.user()
    assert org.admin.get(f"/v1/manage/user/{user}").json()["user"]["monthly_limit"] == 7
    cleared = org.admin.patch("/v1/manage/org", json={"default_monthly_limit": 0, "approved_models": []})
    assert cleared.json()["default_monthly_limit"] is None and cleared.json()["approved_models"] == []
    assert _org(org)["name"] == "Acme"

    events = org.admin.get("/v1/manage/audit", params={"action": "org.update", "target_id": org.id}).json()["events"]
    assert len(events) == 3
    oldest = events[-1]
    assert oldest["before"]["name"] == "Test Org" and oldest["after"]["name"] == "Acme"
    assert oldest["actor_id"] == org.owner_id


def test_patch_org_bad_input_names_the_field_and_changes_nothing(org: Org) -> None:
    before = _org(org)
    cases: list[tuple[Any, str]] = [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"timezone": 3}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"approved_models": "openai/gpt-4o"}, "approved_models"),
        ({"approved_models": [""]}, "approved_models"),
        ({"approved_models": ["m" * 201]}, "approved_models"),
        ({"default_monthly_limit": "lots"}, "default_monthly_limit"),
        ({"default_monthly_limit": -5}, "default_monthly_limit"),
        ({"guardrails": {"pii": "yes"}}, "guardrails"),
        ({"guardrails": ["pii"]}, "guardrails"),
        ({"balance": 100}, "balance"),
        ({"name": "Renamed", "timezone": "Nowhere"}, "timezone"),
    ]
    for body, field in cases:
        response = org.admin.patch("/v1/manage/org", json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["error"]["message"], (body, response.text)
    assert _org(org) == before
    assert org.admin.get("/v1/manage/audit", params={"action": "org.update"}).json()["total"] == 0


def test_only_org_admins_change_the_org(org: Org) -> None:
    admin = org.key(org.user(role="admin"), manage="write")
    assert admin.patch("/v1/manage/org", json={"timezone": "Asia/Tokyo"}).status_code == 200
    lead = org.user()
    org.add_member(org.group(), lead, "admin")
    for key in (org.key(org.user(), manage="write"), org.key(lead, manage="write")):
        assert key.get("/v1/manage/org").status_code == 200
        refused = key.patch("/v1/manage/org", json={"timezone": "UTC"})
        assert refused.status_code == 403
        assert key.post("/v1/manage/org/group/access-list", json={"access_list_id": None}).status_code == 403
    reader = org.key(manage="read")
    assert reader.patch("/v1/manage/org", json={"timezone": "UTC"}).json()["error"]["message"] == (
        "manage write permission required"
    )
    assert _org(org)["timezone"] == "Asia/Tokyo"


def test_group_default_access_list(org: Org, new_org: Any) -> None:
    list_id = org.admin.post("/v1/manage/access-list", json={"name": "default"}).json()["id"]
    response = org.admin.post("/v1/manage/org/group/access-list", json={"access_list_id": list_id})
    assert response.status_code == 200, response.text
    assert response.json()["default_group_access_list_id"] == list_id
    assert _org(org)["default_group_access_list_id"] == list_id

    unknown = org.admin.post("/v1/manage/org/group/access-list", json={"access_list_id": "no-such-list"})
    assert unknown.status_code == 404 and "no-such-list" in unknown.json()["error"]["message"]
    for bad in ({}, {"access_list_id": 5}, {"access_list_id": ""}):
        refused = org.admin.post("/v1/manage/org/group/access-list", json=bad)
        assert refused.status_code == 400 and "access_list_id" in refused.json()["error"]["message"]
    assert _org(org)["default_group_access_list_id"] == list_id

    cleared = org.admin.post("/v1/manage/org/group/access-list", json={"access_list_id": None})
    assert cleared.json()["default_group_access_list_id"] is None
    events = org.admin.get("/v1/manage/audit", params={"action": "org.group_access_list"}).json()["events"]
    assert [
        (e["before"]["default_group_access_list_id"], e["after"]["default_group_access_list_id"]) for e in events
    ] == [
        (list_id, None),
        (None, list_id),
    ]
    # Another organization's settings are untouched.
    other = new_org("Other")
    assert other.admin.get("/v1/manage/org").json()["default_group_access_list_id"] is None
