from __future__ import annotations

from typing import Any

from tests.conftest import Org
from tests.groups.acting import GROUPS, audit_events, error_message


def _tree(org: Org) -> list[dict[str, Any]]:
    response = org.admin.get(f"{GROUPS}/tree")
    assert response.status_code == 200, response.text
    return list(response.json()["tree"])


def test_three_level_tree_with_counts(org: Org) -> None:
    eng = org.group("Engineering", kind="department", description="Builds things")
    backend = org.group("Backend Engineers", parent_id=eng, kind="function")
    oncall = org.group("On-call", parent_id=backend, kind="project")
    ada, bob = org.user(), org.user()
    org.add_member(eng, ada)
    org.add_member(backend, ada)
    org.add_member(oncall, bob)

    created = org.admin.post(GROUPS, json={"name": "Frontend", "parent_id": eng})
    assert created.status_code == 200
    assert created.json()["group"]["parent_id"] == eng
    assert created.json()["group_id"] == created.json()["group"]["id"]

    (root,) = _tree(org)
    assert root["name"] == "Engineering" and root["kind"] == "department" and root["description"] == "Builds things"
    assert root["members_count"] == 1 and root["total_members"] == 2  # ada counted once
    assert [c["name"] for c in root["children"]] == ["Backend Engineers", "Frontend"]
    back = root["children"][0]
    assert back["members_count"] == 1 and back["total_members"] == 2
    assert [c["id"] for c in back["children"]] == [oncall]
    assert back["children"][0]["total_members"] == 1 and back["children"][0]["children"] == []

    listed = org.admin.get(GROUPS).json()["groups"]
    assert {g["name"] for g in listed} == {"Engineering", "Backend Engineers", "On-call", "Frontend"}
    item = next(g for g in listed if g["id"] == backend)
    for field in ("organization_id", "members_count", "monthly_spend", "monthly_limit", "created_by", "created_at"):
        assert field in item
    assert item["organization_id"] == org.id and item["created_by"] == org.owner_id
    assert item["monthly_spend"] == 0 and item["monthly_limit"] is None and item["expired"] is False


def test_get_group_with_members_and_unknown_group(org: Org) -> None:
    group = org.group("Support", monthly_limit=50)
    user = org.user("carol@example.com", name="Carol", monthly_limit="7.25")
    org.add_member(group, user, role="admin")
    got = org.admin.get(f"{GROUPS}/{group}").json()["group"]
    assert got["monthly_limit"] == 50 and got["monthly_budget_per_user"] == 50 and got["monthly_budget"] is None
    (member,) = got["members"]
    assert member == {
        **member,
        "id": user,
        "email": "carol@example.com",
        "name": "Carol",
        "role": "admin",
        "monthly_limit": 7.25,
        "monthly_spend": 0,
        "rate_limit": None,
        "active": True,
        "added_by": org.owner_id,
    }
    missing = org.admin.get(f"{GROUPS}/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and error_message(missing) == "group not found"


def test_cycles_are_refused(org: Org) -> None:
    a = org.group("A")
    b = org.group("B", parent_id=a)
    c = org.group("C", parent_id=b)
    under_grandchild = org.admin.patch(f"{GROUPS}/{a}", json={"parent_id": c})
    assert under_grandchild.status_code == 409
    assert "cycle" in error_message(under_grandchild)
    under_itself = org.admin.patch(f"{GROUPS}/{b}", json={"parent_id": b})
    assert under_itself.status_code == 409 and "own parent" in error_message(under_itself)
    assert org.admin.get(f"{GROUPS}/{a}").json()["group"]["parent_id"] is None
    assert audit_events(org, a, "group.update") == []


def test_sibling_names_are_unique_case_insensitively(org: Org) -> None:
    parent = org.group("Marketing")
    org.group("Design Team", parent_id=parent)
    clash = org.admin.post(GROUPS, json={"name": "design team", "parent_id": parent})
    assert clash.status_code == 409 and "design team" in error_message(clash)
    # The same name elsewhere in the tree is fine, and so is a top-level one.
    assert org.admin.post(GROUPS, json={"name": "Design Team"}).status_code == 200
    top_clash = org.admin.post(GROUPS, json={"name": "MARKETING"})
    assert top_clash.status_code == 409 and "top level" in error_message(top_clash)
    # Renaming or moving into a clash is refused as well.
    other = org.group("Content", parent_id=parent)
    assert org.admin.patch(f"{GROUPS}/{other}", json={"name": "DESIGN team"}).status_code == 409
    loose = org.group("Content ")  # stripped: "Content" at the top level
    moved = org.admin.patch(f"{GROUPS}/{loose}", json={"parent_id": parent})
    assert moved.status_code == 409
    assert org.admin.patch(f"{GROUPS}/{other}", json={"name": "content"}).status_code == 200


def test_depth_is_at_most_ten(org: Org) -> None:
    chain = [org.group("L1")]
    for level in range(2, 11):
        chain.append(org.group(f"L{level}", parent_id=chain[-1]))
    too_deep = org.admin.post(GROUPS, json={"name": "L11", "parent_id": chain[-1]})
    assert too_deep.status_code == 409 and "10" in error_message(too_deep)

    # Moving a two-level subtree under level 9 would make 11 levels; under level 8 makes 10.
    sub = org.group("Sub")
    org.group("Leaf", parent_id=sub)
    refused = org.admin.patch(f"{GROUPS}/{sub}", json={"parent_id": chain[8]})
    assert refused.status_code == 409 and "10" in error_message(refused)
    assert org.admin.get(f"{GROUPS}/{sub}").json()["group"]["parent_id"] is None
    assert org.admin.patch(f"{GROUPS}/{sub}", json={"parent_id": chain[7]}).status_code == 200


def test_patch_changes_only_what_is_given(org: Org) -> None:
    parent = org.group("Ops")
    group = org.group("Infra", parent_id=parent, description="keep me", kind="function", features={"tools": False})
    patched = org.admin.patch(
        f"{GROUPS}/{group}",
        json={"name": "Infrastructure", "monthly_budget": "1000.50", "expires_at": "2020-01-01T00:00:00Z"},
    )
    assert patched.status_code == 200, patched.text
    out = patched.json()["group"]
    assert out["name"] == "Infrastructure" and out["description"] == "keep me" and out["kind"] == "function"
    assert out["parent_id"] == parent and out["features"] == {"tools": False}
    assert out["monthly_budget"] == 1000.5 and out["expired"] is True

    to_top = org.admin.patch(f"{GROUPS}/{group}", json={"parent_id": None, "monthly_budget": 0, "expires_at": None})
    out = to_top.json()["group"]
    assert out["parent_id"] is None and out["monthly_budget"] is None and out["expired"] is False
    (event, *_) = audit_events(org, group, "group.update")
    assert event["before"]["parent_id"] == parent and event["after"]["parent_id"] is None
    assert event["before"]["monthly_budget"] == "1000.5"


def test_expired_groups_still_list(org: Org) -> None:
    group = org.group("Hackathon 2020", kind="project", expires_at="2020-06-01T00:00:00Z")
    live = org.group("Hackathon 2999", kind="project", expires_at="2999-06-01T00:00:00+02:00")
    listed = {g["id"]: g for g in org.admin.get(GROUPS).json()["groups"]}
    assert listed[group]["expired"] is True and listed[group]["expires_at"].startswith("2020-06-01")
    assert listed[live]["expired"] is False and listed[live]["expires_at"].startswith("2999-05-31T22:00:00")
    assert {n["id"]: n["expired"] for n in _tree(org)} == {group: True, live: False}


def test_delete_with_children_needs_recursive(org: Org) -> None:
    top = org.group("Sales")
    reps = org.group("Sales Reps", parent_id=top)
    deep = org.group("EMEA", parent_id=reps)
    user = org.user()
    org.add_member(deep, user)
    org.add_member(top, user)
    key = org.key(user, group_id=deep)

    refused = org.admin.delete(f"{GROUPS}/{top}")
    assert refused.status_code == 409 and "recursive" in error_message(refused)
    assert org.admin.get(f"{GROUPS}/{deep}").status_code == 200

    assert org.admin.delete(f"{GROUPS}/{top}", params={"recursive": "true"}).status_code == 204
    for gid in (top, reps, deep):
        assert org.admin.get(f"{GROUPS}/{gid}").status_code == 404
    assert org.admin.get(f"/v1/manage/user/{user}/groups").json()["direct"] == []
    assert key.get("/v1/manage/apikey/self").json()["group"]["id"] == deep  # kept, grants nothing
    (event,) = audit_events(org, top, "group.delete")
    assert {g["id"] for g in event["before"]["subgroups"]} == {reps, deep}
    assert event["before"]["members"] == [{"user_id": user, "role": "member"}]

    leaf = org.group("Leaf")
    assert org.admin.delete(f"{GROUPS}/{leaf}").status_code == 204
    assert org.admin.delete(f"{GROUPS}/{leaf}").status_code == 404


def test_default_groups_take_new_users(org: Org) -> None:
    everyone = org.group("Everyone", default=True)
    user = org.user()
    got = org.admin.get(f"{GROUPS}/{everyone}").json()["group"]
    assert got["default"] is True
    assert user in {m["id"] for m in got["members"]}
