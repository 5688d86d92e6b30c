"""SCIM groups are Covey groups: members are users, a rename keeps the group where an admin put it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org
from tests.scim.conftest import GROUP, Scim, assert_scim_error, new_group, new_user, patch_ops


def _direct_groups(org: Org, user_id: str) -> set[str]:
    return {g["id"] for g in org.admin.get(f"/v1/manage/user/{user_id}/groups").json()["direct"]}


def _group(org: Org, group_id: str) -> dict[str, Any]:
    response = org.admin.get(f"/v1/manage/group/{group_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["group"])


def test_create_with_members_at_the_top_level(org: Org, scim: Scim) -> None:
    ann = new_user(scim, "ann@example.com")
    group = new_group(scim, "Backend Engineers", [ann["id"]], externalId="okta-g1")
    assert group["members"] == [
        {"value": ann["id"], "$ref": ann["meta"]["location"], "type": "User"},
    ]
    covey = _group(org, group["id"])
    assert covey["parent_id"] is None and covey["external_id"] == "okta-g1"
    assert _direct_groups(org, ann["id"]) == {group["id"]}
    assert scim.get(f"/Users/{ann['id']}").json()["groups"][0]["display"] == "Backend Engineers"


def test_members_must_be_users_of_the_org_and_nothing_is_half_made(org: Org, scim: Scim) -> None:
    ann = new_user(scim, "ann2@example.com")
    body = {"schemas": [GROUP], "displayName": "Half", "members": [{"value": ann["id"]}, {"value": "nobody"}]}
    assert_scim_error(scim.post("/Groups", json=body), 400, "invalidValue")
    assert scim.get("/Groups", params={"filter": 'displayName eq "Half"'}).json()["totalResults"] == 0
    nested = {"schemas": [GROUP], "displayName": "Nest", "members": [{"value": ann["id"], "type": "Group"}]}
    assert_scim_error(scim.post("/Groups", json=nested), 400, "invalidValue")


def test_top_level_name_clash_is_a_uniqueness_conflict(scim: Scim) -> None:
    new_group(scim, "Sales")
    assert_scim_error(scim.post("/Groups", json={"schemas": [GROUP], "displayName": "sales"}), 409, "uniqueness")


def test_a_rename_by_the_idp_keeps_the_group_under_its_covey_parent(org: Org, scim: Scim) -> None:
    engineering = org.group("Engineering")
    group = new_group(scim, "Platform")
    moved = org.admin.patch(f"/v1/manage/group/{group['id']}", json={"parent_id": engineering})
    assert moved.status_code == 200, moved.text

    renamed = scim.patch(
        f"/Groups/{group['id']}",
        json=patch_ops({"op": "replace", "value": {"id": group["id"], "displayName": "Infra"}}),
    )
    assert renamed.status_code == 200, renamed.text
    put = scim.put(f"/Groups/{group['id']}", json={"schemas": [GROUP], "displayName": "Infrastructure"})
    assert put.status_code == 200, put.text
    covey = _group(org, group["id"])
    assert (covey["name"], covey["parent_id"]) == ("Infrastructure", engineering)


def test_member_changes_by_patch(org: Org, scim: Scim) -> None:
    ann, bob, cy = (new_user(scim, f"{n}@members.example.com") for n in ("ann", "bob", "cy"))
    group = new_group(scim, "Members", [ann["id"]])
    gid = group["id"]

    added = scim.patch(
        f"/Groups/{gid}",
        json=patch_ops({"op": "add", "path": "members", "value": [{"value": bob["id"]}, {"value": cy["id"]}]}),
    )
    assert added.status_code == 200
    assert {m["value"] for m in added.json()["members"]} == {ann["id"], bob["id"], cy["id"]}

    # RFC path filter, then Entra's remove-by-value list.
    scim.patch(f"/Groups/{gid}", json=patch_ops({"op": "remove", "path": f'members[value eq "{ann["id"]}"]'}))
    assert gid not in _direct_groups(org, ann["id"])
    removed = scim.patch(
        f"/Groups/{gid}", json=patch_ops({"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]})
    )
    assert [m["value"] for m in removed.json()["members"]] == [cy["id"]]
    assert gid not in _direct_groups(org, bob["id"])

    # Replacing the whole list, then removing everyone.
    replaced = scim.patch(
        f"/Groups/{gid}", json=patch_ops({"op": "replace", "path": "members", "value": [{"value": ann["id"]}]})
    )
    assert [m["value"] for m in replaced.json()["members"]] == [ann["id"]]
    emptied = scim.patch(f"/Groups/{gid}", json=patch_ops({"op": "remove", "path": "members"}))
    assert "members" not in emptied.json()
    assert _group(org, gid)["members"] == []


def test_members_can_be_left_out_of_a_response(scim: Scim) -> None:
    ann = new_user(scim, "quiet@example.com")
    group = new_group(scim, "Quiet", [ann["id"]])
    body = scim.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in body and body["displayName"] == "Quiet"
    listed = scim.get("/Groups", params={"filter": 'displayName eq "Quiet"', "attributes": "displayName"}).json()
    assert set(listed["Resources"][0]) == {"schemas", "id", "displayName"}


def test_delete_removes_the_group_and_its_memberships(org: Org, scim: Scim) -> None:
    ann = new_user(scim, "gone@example.com")
    group = new_group(scim, "Gone", [ann["id"]])
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert org.admin.get(f"/v1/manage/group/{group['id']}").status_code == 404
    assert _direct_groups(org, ann["id"]) == set()


def test_a_group_with_covey_subgroups_is_not_deleted(org: Org, scim: Scim) -> None:
    group = new_group(scim, "Parent")
    org.group("Child", parent_id=group["id"])
    body = assert_scim_error(scim.delete(f"/Groups/{group['id']}"), 409)
    assert "subgroup" in body["detail"] and "scimType" not in body
    assert scim.get(f"/Groups/{group['id']}").status_code == 200
