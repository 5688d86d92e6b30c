"""Request sequences as Okta and Microsoft Entra ID send them (payloads as their SCIM clients write
them, quirks included): provision a user, push a group, add the user, rename the group, remove the
member, deactivate. Covey must end in the state an admin expects."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org
from tests.scim.conftest import GROUP, PATCH, USER, Scim

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def _state(org: Org, user_id: str, group_id: str) -> tuple[str, set[str], str, str | None]:
    user = _ok(org.admin.get(f"/v1/manage/user/{user_id}"))["user"]
    direct = {g["id"] for g in _ok(org.admin.get(f"/v1/manage/user/{user_id}/groups"))["direct"]}
    group = _ok(org.admin.get(f"/v1/manage/group/{group_id}"))["group"]
    return user["status"], direct, group["name"], group["parent_id"]


def test_okta_sequence(org: Org, scim: Scim) -> None:
    department = org.group("Departments")
    assert (
        _ok(scim.get("/Users", params={"filter": 'userName eq "dave@example.com"', "startIndex": 1, "count": 100}))[
            "totalResults"
        ]
        == 0
    )
    user = _ok(
        scim.post(
            "/Users",
            json={
                "schemas": [USER],
                "userName": "dave@example.com",
                "name": {"givenName": "Dave", "familyName": "Doe"},
                "emails": [{"primary": True, "value": "dave@example.com", "type": "work"}],
                "displayName": "Dave Doe",
                "locale": "en-US",
                "externalId": "00u1abcd",
                "groups": [],
                "password": "t1meMa$heen",
                "active": True,
            },
        ),
        201,
    )
    uid = user["id"]
    assert _ok(scim.get("/Groups", params={"filter": 'displayName eq "Engineering"'}))["totalResults"] == 0
    group = _ok(scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Engineering", "members": []}), 201)
    gid = group["id"]
    # An admin files the pushed group under a Covey group.
    _ok(org.admin.patch(f"/v1/manage/group/{gid}", json={"parent_id": department}))

    add = {"op": "add", "path": "members", "value": [{"value": uid, "display": "dave@example.com"}]}
    _ok(scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [add]}))
    assert _state(org, uid, gid) == ("active", {gid}, "Engineering", department)

    rename = {"op": "replace", "value": {"id": gid, "displayName": "Engineering Team"}}
    renamed = _ok(scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [rename]}))
    assert renamed["displayName"] == "Engineering Team"
    # Okta also pushes a group in full with PUT.
    _ok(
        scim.put(
            f"/Groups/{gid}",
            json={"schemas": [GROUP], "id": gid, "displayName": "Engineering Team", "members": [{"value": uid}]},
        )
    )
    assert _state(org, uid, gid) == ("active", {gid}, "Engineering Team", department)

    remove = {"op": "remove", "path": f'members[value eq "{uid}"]'}
    _ok(scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [remove]}))
    assert _state(org, uid, gid) == ("active", set(), "Engineering Team", department)

    deactivate = {"op": "replace", "value": {"active": False}}
    body = _ok(scim.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [deactivate]}))
    assert body["active"] is False
    assert _state(org, uid, gid) == ("deactivated", set(), "Engineering Team", department)
    # Okta reads the user back and finds it, inactive.
    assert _ok(scim.get(f"/Users/{uid}"))["active"] is False


def test_entra_sequence(org: Org, scim: Scim) -> None:
    assert _ok(scim.get("/Users", params={"filter": 'userName eq "erin@contoso.example"'}))["totalResults"] == 0
    user = _ok(
        scim.post(
            "/Users",
            json={
                "schemas": [USER, ENTERPRISE],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "userName": "Erin@contoso.example",
                "active": True,
                "displayName": "Erin Example",
                "emails": [{"primary": True, "type": "work", "value": "Erin@contoso.example"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Erin Example", "familyName": "Example", "givenName": "Erin"},
                "roles": [],
                ENTERPRISE: {"department": "Sales", "manager": {"value": "someone-else"}},
            },
        ),
        201,
    )
    uid = user["id"]
    assert user["userName"] == "erin@contoso.example"

    found = _ok(scim.get("/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "Sales Reps"'}))
    assert found["totalResults"] == 0
    group = _ok(
        scim.post(
            "/Groups",
            json={
                "schemas": [GROUP],
                "externalId": "6c5dbb9e-6f3b-4c3d-9d7c-1f6d8a7f0b11",
                "displayName": "Sales Reps",
                "meta": {"resourceType": "Group"},
                "members": [],
            },
        ),
        201,
    )
    gid = group["id"]

    add = {"op": "Add", "path": "members", "value": [{"value": uid}]}
    _ok(scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [add]}))
    matched = _ok(
        scim.get("/Groups", params={"filter": f'id eq "{gid}" and members eq "{uid}"', "excludedAttributes": "members"})
    )
    assert matched["totalResults"] == 1

    # Attribute updates: a capitalised op on a filtered path, a name part, a string boolean.
    updates = [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "erin@contoso.example"},
        {"op": "Replace", "path": "name.familyName", "value": "Sample"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Field Sales"},
        {"op": "Replace", "path": "active", "value": "True"},
    ]
    renamed_user = _ok(scim.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": updates}))
    assert renamed_user["displayName"] == "Erin Sample"

    rename = {"op": "Replace", "path": "displayName", "value": "Sales Representatives"}
    _ok(scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [rename]}))
    assert _state(org, uid, gid) == ("active", {gid}, "Sales Representatives", None)

    remove = {"op": "Remove", "path": "members", "value": [{"value": uid}]}
    _ok(scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [remove]}))
    assert _state(org, uid, gid) == ("active", set(), "Sales Representatives", None)

    deactivate = {"op": "Replace", "path": "active", "value": "False"}
    _ok(scim.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [deactivate]}))
    assert _state(org, uid, gid) == ("deactivated", set(), "Sales Representatives", None)

    # Thirty days later Entra deletes the user for good.
    assert scim.delete(f"/Users/{uid}").status_code == 204
    assert scim.get(f"/Users/{uid}").status_code == 404
    assert _state(org, uid, gid)[0] == "deactivated"
