from __future__ import annotations

from typing import Any

from tests.conftest import Org


def test_create_get_update_deactivate_user(org: Org) -> None:
    created = org.admin.post(
        "/v1/manage/user", json={"email": "Ada@Example.com", "name": "Ada", "role": "member", "monthly_limit": "25.5"}
    )
    assert created.status_code == 200, created.text
    user_id = created.json()["user_id"]
    assert created.json()["user"]["email"] == "ada@example.com"
    assert created.json()["user"]["monthly_limit"] == 25.5

    got = org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]
    assert got["name"] == "Ada" and got["status"] == "active" and got["groups"] == []

    patched = org.admin.patch(f"/v1/manage/user/{user_id}", json={"name": "Ada L.", "monthly_limit": 0})
    assert patched.status_code == 200
    assert patched.json()["user"]["name"] == "Ada L."
    assert patched.json()["user"]["monthly_limit"] is None

    off = org.admin.post(f"/v1/manage/user/{user_id}/deactivate")
    assert off.json()["user"]["status"] == "deactivated"
    listed = org.admin.get("/v1/manage/user", params={"status": "deactivated"}).json()
    assert [u["id"] for u in listed["users"]] == [user_id]


def test_duplicate_email_is_a_conflict(org: Org) -> None:
    org.user("dup@example.com")
    again = org.admin.post("/v1/manage/user", json={"email": "DUP@example.com"})
    assert again.status_code == 409
    assert "dup@example.com" in again.json()["error"]["message"]


def test_list_pages_and_filters(org: Org) -> None:
    for i in range(5):
        org.user(f"page{i}@example.com")
    first = org.admin.get("/v1/manage/user", params={"q": "page", "limit": 2}).json()
    second = org.admin.get("/v1/manage/user", params={"q": "page", "limit": 2, "offset": 2}).json()
    assert first["total"] == 5
    assert len(first["users"]) == 2 and len(second["users"]) == 2
    assert {u["email"] for u in first["users"]}.isdisjoint({u["email"] for u in second["users"]})


def test_bad_input_names_the_field_and_changes_nothing(org: Org) -> None:
    cases: list[Any] = [
        {"name": "no email"},
        {"email": "not-an-email"},
        {"email": "x@example.com", "role": "emperor"},
        {"email": "x@example.com", "monthly_limit": "ten"},
        {"email": "x@example.com", "monthly_limit": -1},
        {"email": "x@example.com", "name": "n" * 500},
        {"email": "x@example.com", "unknown_field": 1},
    ]
    before = org.admin.get("/v1/manage/user").json()["total"]
    for body in cases:
        response = org.admin.post("/v1/manage/user", json=body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["origin"] == "router" and error["message"]
    malformed = org.admin.post("/v1/manage/user", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert "JSON" in malformed.json()["error"]["message"]
    assert org.admin.get("/v1/manage/user").json()["total"] == before


def test_missing_and_invalid_keys(client: Any, org: Org) -> None:
    assert client.get("/v1/manage/user").status_code == 401
    bad = client.get("/v1/manage/user", headers={"Authorization": "Bearer cvy_nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["message"] == "Invalid authorization token"
