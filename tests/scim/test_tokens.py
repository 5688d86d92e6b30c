"""SCIM tokens: shown once, stored as a hash, revocable, and reaching only their own org."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from covey.kit.db import Database
from tests.conftest import Org
from tests.scim.conftest import Scim, assert_scim_error, new_group, new_user, patch_ops, scim_token


def test_token_is_shown_once_and_only_its_hash_is_stored(org: Org, db: Database) -> None:
    token_id, token = scim_token(org, "entra")
    assert token.startswith("scim_")
    listed = org.admin.get("/v1/manage/scim/token").json()["tokens"]
    assert [t["id"] for t in listed] == [token_id]
    assert listed[0]["name"] == "entra" and listed[0]["active"] is True
    assert token not in str(listed)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM scim_tokens WHERE id = :id"), {"id": token_id}).mappings().all()
    assert rows and all(token not in str(value) for value in rows[0].values())


def test_revoked_token_is_refused(org: Org) -> None:
    token_id, token = scim_token(org)
    scim = Scim(org.admin.client, token)
    assert scim.get("/Users").status_code == 200
    revoked = org.admin.delete(f"/v1/manage/scim/token/{token_id}")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert_scim_error(scim.get("/Users"), 401)


def test_invalid_or_missing_token_is_a_scim_401(scim: Scim) -> None:
    assert_scim_error(Scim(scim.client, "scim_not-a-real-token").get("/Users"), 401)
    response = scim.client.get("/scim/v2/Users")
    assert_scim_error(response, 401)
    assert "bearer" in response.headers["www-authenticate"].lower()


def test_only_org_admins_with_manage_write_make_tokens(org: Org) -> None:
    member = org.key(org.user(), manage="write")
    assert member.post("/v1/manage/scim/token", json={"name": "x"}).status_code == 403
    reader = org.key(manage="read")
    assert reader.post("/v1/manage/scim/token", json={"name": "x"}).status_code == 403
    assert org.admin.post("/v1/manage/scim/token", json={"name": ""}).status_code == 400


def test_another_orgs_token_cannot_be_revoked(org: Org, new_org: Any) -> None:
    token_id, _token = scim_token(org)
    other = new_org()
    assert other.admin.delete(f"/v1/manage/scim/token/{token_id}").status_code == 404
    assert other.admin.get("/v1/manage/scim/token").json()["tokens"] == []


def test_a_token_reaches_only_its_own_org(org: Org, new_org: Any) -> None:
    scim_a = Scim(org.admin.client, scim_token(org)[1])
    other = new_org()
    scim_b = Scim(other.admin.client, scim_token(other)[1])
    user_b = new_user(scim_b, "b@example.com")
    group_b = new_group(scim_b, "B team", [user_b["id"]])

    assert_scim_error(scim_a.get(f"/Users/{user_b['id']}"), 404)
    assert_scim_error(scim_a.get(f"/Groups/{group_b['id']}"), 404)
    assert_scim_error(
        scim_a.patch(f"/Users/{user_b['id']}", json=patch_ops({"op": "replace", "path": "active", "value": False})), 404
    )
    assert_scim_error(scim_a.delete(f"/Users/{user_b['id']}"), 404)
    listed = scim_a.get("/Users", params={"filter": 'userName eq "b@example.com"'}).json()
    assert listed["totalResults"] == 0
    # Another org's user cannot be made a member either.
    group_a = new_group(scim_a, "A team")
    assert_scim_error(
        scim_a.patch(
            f"/Groups/{group_a['id']}",
            json=patch_ops({"op": "add", "path": "members", "value": [{"value": user_b["id"]}]}),
        ),
        400,
        "invalidValue",
    )
    # Org B is untouched.
    assert scim_b.get(f"/Users/{user_b['id']}").json()["active"] is True
