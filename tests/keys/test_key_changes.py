"""Changing a key: limit, labels, expiry, Covey's PATCH, revoking; each change audited."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, Org


def _new_key(org: Org, **fields: Any) -> tuple[str, Api]:
    created = org.admin.post("/v1/manage/apikey", json={"name": "k", **fields})
    assert created.status_code == 200, created.text
    return created.json()["api_key_id"], Api(org.admin.client, created.json()["api_key"])


def _actions(org: Org, key_id: str) -> list[str]:
    events = org.admin.get("/v1/manage/audit", params={"target_id": key_id, "limit": 100}).json()["events"]
    return sorted(e["action"] for e in events)


def test_limit_round_trip_accepts_number_and_string(org: Org) -> None:
    key_id, _ = _new_key(org, monthly_limit=3)
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["monthly_limit"] == "3"
    for given, shown in (("12.5", "12.5"), (12.5, "12.5"), ("0.000000001", "0.000000001"), (0, "0"), ("7", "7")):
        response = org.admin.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": given})
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["monthly_limit"] == shown
    listed = {k["id"]: k for k in org.admin.get("/v1/manage/apikey").json()["keys"]}
    assert listed[key_id]["monthly_limit"] == "7"


def test_bad_limit_names_the_field_and_changes_nothing(org: Org) -> None:
    key_id, _ = _new_key(org, monthly_limit="4.25")
    for body in (
        {},
        {"monthly_limit": "ten"},
        {"monthly_limit": -1},
        {"monthly_limit": None},
        {"monthly_limit": "1e400"},
    ):
        response = org.admin.post(f"/v1/manage/apikey/{key_id}/limit", json=body)
        assert response.status_code == 400, (body, response.text)
        assert "monthly_limit" in response.json()["error"]["message"]
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["monthly_limit"] == "4.25"


def test_labels_replace_all_and_empty_clears(org: Org) -> None:
    key_id, _ = _new_key(org, labels={"team": "web", "env": "dev"})
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["labels"] == {"team": "web", "env": "dev"}
    assert org.admin.post(f"/v1/manage/apikey/{key_id}/label", json={"labels": {"env": "prod"}}).status_code == 204
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["labels"] == {"env": "prod"}
    for bad in (
        {"labels": {"env": 1}},
        {"labels": ["env"]},
        {"labels": {"": "x"}},
        {"labels": {"k" * 65: "x"}},
        {"labels": {"k": "v" * 257}},
        {"labels": {f"k{i}": "v" for i in range(51)}},
        {},
    ):
        response = org.admin.post(f"/v1/manage/apikey/{key_id}/label", json=bad)
        assert response.status_code == 400, (bad, response.text)
        assert "labels" in response.json()["error"]["message"]
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["labels"] == {"env": "prod"}
    assert org.admin.post(f"/v1/manage/apikey/{key_id}/label", json={"labels": {}}).status_code == 204
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["labels"] == {}


def test_expiry_set_clear_and_expired_key_is_frozen(org: Org) -> None:
    key_id, key = _new_key(org, expires_at="2099-01-01T00:00:00Z")
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["expires_at"].startswith("2099-01-01T00:00:00")
    moved = org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": "2098-06-30T12:00:00+02:00"})
    assert moved.status_code == 204, moved.text
    shown = org.admin.get(f"/v1/manage/apikey/{key_id}").json()
    assert shown["expires_at"].startswith("2098-06-30T10:00:00") and shown["status"] == "active"
    assert org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": None}).status_code == 204
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["expires_at"] is None

    for bad in ({}, {"expires_at": "tomorrow"}, {"expires_at": "2099-01-01T00:00:00"}):
        response = org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json=bad)
        assert response.status_code == 400, (bad, response.text)
        assert "expires_at" in response.json()["error"]["message"]

    # A time already past expires the key at once; from then on only its expiry can be changed.
    assert (
        org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": "2001-01-01T00:00:00Z"}).status_code
        == 204
    )
    assert key.get("/v1/manage/apikey/self").status_code == 401
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["status"] == "expired"
    refused = org.admin.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": 1})
    assert refused.status_code == 409
    assert "expired" in refused.json()["error"]["message"]
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["expires_at"].startswith("2001-01-01")
    # Extended, it works again.
    assert org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": None}).status_code == 204
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["status"] == "active"
    assert key.get("/v1/manage/apikey/self").status_code == 200


def test_patch_changes_only_what_is_given(org: Org) -> None:
    key_id, _ = _new_key(org, permissions={"manage": "read", "completions": "write"}, features={"streaming": False})
    response = org.admin.patch(f"/v1/manage/apikey/{key_id}", json={"name": "renamed", "logging": True})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["name"] == "renamed" and data["logging"] is True
    assert data["permissions"] == {"manage": "read", "completions": "write"}
    assert data["features"] == {"streaming": False}
    lowered = org.admin.patch(f"/v1/manage/apikey/{key_id}", json={"permissions": {"completions": "none"}}).json()
    assert lowered["permissions"] == {"manage": "read", "completions": "none"}
    features = org.admin.patch(f"/v1/manage/apikey/{key_id}", json={"features": {"tools": False}}).json()
    assert features["features"] == {"tools": False}

    for bad, field in (
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"features": {"streaming": "no"}}, "features"),
        ({"features": {"Bad Name": True}}, "features"),
        ({"permissions": {"manage": "root"}}, "permissions"),
        ({"logging": "yes"}, "logging"),
        ({"secret": "x"}, "secret"),
    ):
        refused = org.admin.patch(f"/v1/manage/apikey/{key_id}", json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert field in refused.json()["error"]["message"]
    unknown_list = org.admin.patch(f"/v1/manage/apikey/{key_id}", json={"access_list_id": "nope"})
    assert unknown_list.status_code == 404
    assert "access list" in unknown_list.json()["error"]["message"]
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["name"] == "renamed"


def test_revoke_stops_the_key_at_once_and_hides_it(org: Org) -> None:
    key_id, key = _new_key(org, permissions={"manage": "read", "completions": "write"})
    assert key.get("/v1/manage/apikey").status_code == 200
    assert org.admin.delete(f"/v1/manage/apikey/{key_id}").status_code == 204
    refused = key.get("/v1/manage/apikey/self")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Invalid authorization token"
    assert key_id not in {k["id"] for k in org.admin.get("/v1/manage/apikey").json()["keys"]}
    with_revoked = org.admin.get("/v1/manage/apikey", params={"include_revoked": "true"}).json()["keys"]
    shown = next(k for k in with_revoked if k["id"] == key_id)
    assert shown["status"] == "revoked" and shown["revoked_at"]
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["status"] == "revoked"
    # Revoking again is harmless; changing a revoked key is a conflict.
    assert org.admin.delete(f"/v1/manage/apikey/{key_id}").status_code == 204
    assert org.admin.post(f"/v1/manage/apikey/{key_id}/label", json={"labels": {"a": "b"}}).status_code == 409
    assert _actions(org, key_id).count("apikey.revoke") == 1


def test_every_change_is_audited_without_the_secret(org: Org) -> None:
    created = org.admin.post("/v1/manage/apikey", json={"name": "audited"}).json()
    key_id, secret = created["api_key_id"], created["api_key"]
    org.admin.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": "9.99"})
    org.admin.post(f"/v1/manage/apikey/{key_id}/label", json={"labels": {"a": "b"}})
    org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": "2099-01-01T00:00:00Z"})
    org.admin.patch(f"/v1/manage/apikey/{key_id}", json={"name": "audited-2"})
    org.admin.delete(f"/v1/manage/apikey/{key_id}")
    assert _actions(org, key_id) == sorted(
        ["apikey.create", "apikey.limit", "apikey.label", "apikey.expiry", "apikey.update", "apikey.revoke"]
    )
    events = org.admin.get("/v1/manage/audit", params={"target_id": key_id, "limit": 100})
    assert secret not in events.text and "key_hash" not in events.text
    limit = next(e for e in events.json()["events"] if e["action"] == "apikey.limit")
    assert limit["before"]["monthly_limit"] == "0" and limit["after"]["monthly_limit"] == "9.99"
    assert limit["actor_id"] == org.owner_id
