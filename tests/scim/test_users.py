"""SCIM users are Covey users: created through the users service, deactivated by `active: false` or DELETE."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org
from tests.scim.conftest import USER, Scim, assert_scim_error, new_user, patch_ops


def _covey_user(org: Org, user_id: str) -> dict[str, Any]:
    response = org.admin.get(f"/v1/manage/user/{user_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["user"])


def test_create_maps_to_a_covey_user_in_every_default_group(org: Org, scim: Scim) -> None:
    everyone = org.group("Everyone", default=True)
    response = scim.post(
        "/Users",
        json={
            "schemas": [USER],
            "userName": "Ada.Lovelace@Example.com",
            "externalId": "00u1",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [
                {"value": "ada.lovelace@example.com", "type": "work", "primary": True},
                {"value": "ada@corp.local", "type": "other"},
            ],
            "active": True,
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert response.headers["location"] == body["meta"]["location"]
    assert body["userName"] == "ada.lovelace@example.com"
    assert body["displayName"] == "Ada Lovelace"
    assert body["emails"] == [{"value": "ada.lovelace@example.com"}]
    assert body["groups"][0]["value"] == everyone

    user = _covey_user(org, body["id"])
    assert (user["email"], user["name"], user["external_id"], user["status"]) == (
        "ada.lovelace@example.com",
        "Ada Lovelace",
        "00u1",
        "active",
    )
    events = org.admin.get("/v1/manage/audit", params={"action": "group.member.add", "target_id": everyone}).json()
    joined = [e for e in events["events"] if e["after"]["user_id"] == body["id"]]
    assert len(joined) == 1
    assert joined[0]["actor_kind"] == "scim"
    assert joined[0]["after"]["reason"] == "default group"


def test_changes_are_audited_with_the_token_as_actor(org: Org) -> None:
    token_id = org.admin.post("/v1/manage/scim/token", json={"name": "okta"}).json()
    scim = Scim(org.admin.client, token_id["token"])
    user = new_user(scim, "audited@example.com")
    scim.patch(f"/Users/{user['id']}", json=patch_ops({"op": "replace", "path": "displayName", "value": "Aud"}))
    events = org.admin.get("/v1/manage/audit", params={"target_id": user["id"]}).json()["events"]
    assert {e["action"] for e in events} >= {"user.create", "user.update"}
    assert all(e["actor_kind"] == "scim" and e["actor_id"] == token_id["id"] for e in events)
    assert all(e["actor_label"] == "okta" for e in events)


def test_bad_input_is_a_scim_400_and_changes_nothing(org: Org, scim: Scim) -> None:
    bad_email = {"schemas": [USER], "userName": "x@example.com", "emails": [{"value": "not-an-email"}]}
    assert "not-an-email" in assert_scim_error(scim.post("/Users", json=bad_email), 400, "invalidValue")["detail"]
    assert_scim_error(scim.post("/Users", json={"schemas": [USER]}), 400, "invalidValue")
    assert_scim_error(scim.post("/Users", json={"schemas": [USER], "userName": "  "}), 400, "invalidValue")
    assert_scim_error(scim.post("/Users", json={"schemas": [USER], "userName": "u" * 321}), 400, "invalidValue")
    assert_scim_error(scim.post("/Users", content=b"{not json"), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", json=["a list"]), 400, "invalidSyntax")
    assert_scim_error(
        scim.post("/Users", json={"schemas": [USER], "userName": "x@example.com", "active": "maybe"}), 400
    )
    assert org.admin.get("/v1/manage/user", params={"q": "x@example.com"}).json()["total"] == 0


def test_duplicate_user_name_or_external_id_is_a_uniqueness_conflict(scim: Scim) -> None:
    new_user(scim, "dup@example.com", externalId="e-1")
    assert_scim_error(scim.post("/Users", json={"schemas": [USER], "userName": "DUP@example.com"}), 409, "uniqueness")
    assert_scim_error(
        scim.post("/Users", json={"schemas": [USER], "userName": "other@example.com", "externalId": "e-1"}),
        409,
        "uniqueness",
    )


def test_put_replaces_and_patch_handles_entra_quirks(org: Org, scim: Scim) -> None:
    user = new_user(scim, "grace@example.com", displayName="Grace", externalId="g-1")
    replaced = scim.put(
        f"/Users/{user['id']}",
        json={"schemas": [USER], "userName": "grace.hopper@example.com", "displayName": "Grace Hopper", "active": True},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["userName"] == "grace.hopper@example.com"
    assert "externalId" not in replaced.json()  # replaced without one: cleared
    assert _covey_user(org, user["id"])["external_id"] is None

    # Entra: capitalised ops, booleans as strings, a path-less value object, filtered paths.
    patched = scim.patch(
        f"/Users/{user['id']}",
        json=patch_ops(
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"externalId": "g-2", "name.givenName": "Amazing"}},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "grace.hopper@example.com"},
        ),
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["active"] is False
    assert body["externalId"] == "g-2"
    covey = _covey_user(org, user["id"])
    assert covey["status"] == "deactivated"
    assert covey["name"] == "Amazing Hopper"  # the given name changed, the family name stayed

    # A PUT without `active` leaves the status as it is.
    put = scim.put(f"/Users/{user['id']}", json={"schemas": [USER], "userName": "grace.hopper@example.com"})
    assert put.status_code == 200 and put.json()["active"] is False
    again = scim.patch(f"/Users/{user['id']}", json=patch_ops({"op": "replace", "value": {"active": "True"}}))
    assert again.status_code == 200 and again.json()["active"] is True
    assert_scim_error(scim.patch(f"/Users/{user['id']}", json=patch_ops({"op": "jump", "path": "active"})), 400)
    assert_scim_error(scim.patch(f"/Users/{user['id']}", json=patch_ops({"op": "remove", "path": "userName"})), 400)


def test_delete_deactivates_hides_and_a_new_post_brings_the_user_back(org: Org, scim: Scim) -> None:
    user = new_user(scim, "leaver@example.com")
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Users/{user['id']}"), 404)
    assert_scim_error(scim.delete(f"/Users/{user['id']}"), 404)
    assert scim.get("/Users", params={"filter": 'userName eq "leaver@example.com"'}).json()["totalResults"] == 0
    assert _covey_user(org, user["id"])["status"] == "deactivated"  # history stays in Covey

    back = scim.post("/Users", json={"schemas": [USER], "userName": "leaver@example.com", "displayName": "Back"})
    assert back.status_code == 201, back.text
    assert back.json()["id"] == user["id"]
    assert _covey_user(org, user["id"])["status"] == "active"


def test_attributes_and_excluded_attributes(scim: Scim) -> None:
    user = new_user(scim, "attrs@example.com", displayName="Attrs")
    only = scim.get(f"/Users/{user['id']}", params={"attributes": "userName"}).json()
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get(f"/Users/{user['id']}", params={"excludedAttributes": "emails,displayName"}).json()
    assert "emails" not in without and "displayName" not in without and without["userName"] == "attrs@example.com"


def test_a_deactivated_users_management_key_is_refused(org: Org, scim: Scim) -> None:
    user = new_user(scim, "keyholder@example.com")
    key = org.key(user["id"], manage="read")
    assert key.get("/v1/manage/apikey/self").status_code == 200
    response = scim.patch(f"/Users/{user['id']}", json=patch_ops({"op": "replace", "path": "active", "value": False}))
    assert response.status_code == 200
    assert key.get("/v1/manage/apikey/self").status_code in (401, 403)


def test_unknown_paths_and_methods_answer_in_scim_errors(scim: Scim) -> None:
    assert_scim_error(scim.get("/Nothing"), 404)
    assert_scim_error(scim.delete("/ServiceProviderConfig"), 405)
    assert_scim_error(scim.get("/Users/not-an-id"), 404)


def test_user_name_is_any_unique_string_and_the_email_comes_from_emails(org: Org, scim: Scim) -> None:
    ada = new_user(
        scim,
        "00u1ada",
        displayName="Ada",
        emails=[{"value": "ada@home.example", "type": "home"}, {"value": "Ada@Work.example", "primary": True}],
    )
    assert ada["userName"] == "00u1ada" and ada["emails"] == [{"value": "ada@work.example"}]
    first = new_user(scim, "DOMAIN\\bob", emails=[{"value": "bob@one.example"}, {"value": "bob@two.example"}])
    assert first["emails"] == [{"value": "bob@one.example"}]
    # The userName compares without case, as RFC 7643 says; so does a filter on it.
    assert_scim_error(scim.post("/Users", json={"schemas": [USER], "userName": "00U1ADA"}), 409, "uniqueness")
    found = scim.get("/Users", params={"filter": 'userName eq "00U1Ada"'}).json()
    assert [r["id"] for r in found["Resources"]] == [ada["id"]]
    # An address that is another person's is refused, naming it, and nothing is made.
    taken = {"schemas": [USER], "userName": "ada2", "emails": [{"value": "ada@work.example"}]}
    assert "ada@work.example" in assert_scim_error(scim.post("/Users", json=taken), 409, "uniqueness")["detail"]
    assert org.admin.get("/v1/manage/user", params={"q": "ada2"}).json()["total"] == 0
    # Another person's email is a userName too: nobody else may take it as theirs.
    assert_scim_error(scim.post("/Users", json={"schemas": [USER], "userName": "ADA@work.example"}), 409)
    listed = org.admin.get(f"/v1/manage/user/{ada['id']}").json()["user"]
    assert listed["email"] == "ada@work.example" and listed["user_name"] == "00u1ada"


def test_a_person_without_email_owns_keys(org: Org, scim: Scim) -> None:
    svc = new_user(scim, "svc-batch-7", displayName="Batch jobs")
    assert "emails" not in svc
    person = org.admin.get(f"/v1/manage/user/{svc['id']}").json()["user"]
    assert person["email"] is None and person["user_name"] == "svc-batch-7" and person["name"] == "Batch jobs"
    key = org.admin.post("/v1/manage/apikey", json={"name": "batch", "owner_id": svc["id"]})
    assert key.status_code == 200, key.text
    # An address given later, and removed again: the userName stays theirs throughout.
    added = scim.patch(
        f"/Users/{svc['id']}",
        json=patch_ops({"op": "add", "path": "emails", "value": [{"value": "batch@example.com"}]}),
    )
    assert added.status_code == 200, added.text
    assert added.json()["emails"] == [{"value": "batch@example.com"}] and added.json()["userName"] == "svc-batch-7"
    removed = scim.patch(f"/Users/{svc['id']}", json=patch_ops({"op": "remove", "path": "emails"}))
    assert removed.status_code == 200, removed.text
    assert "emails" not in removed.json() and removed.json()["userName"] == "svc-batch-7"
    assert org.admin.get(f"/v1/manage/user/{svc['id']}").json()["user"]["email"] is None


def test_a_user_name_that_is_an_address_is_the_email(scim: Scim) -> None:
    user = new_user(scim, "Carol@Example.com")
    assert user["userName"] == "carol@example.com" and user["emails"] == [{"value": "carol@example.com"}]
    renamed = scim.put(
        f"/Users/{user['id']}",
        json={"schemas": [USER], "userName": "carol", "emails": [{"value": "carol@example.com"}]},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["userName"] == "carol" and renamed.json()["emails"] == [{"value": "carol@example.com"}]
