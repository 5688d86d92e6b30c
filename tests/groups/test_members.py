from __future__ import annotations

from typing import Any

from tests.conftest import Org
from tests.groups.acting import GROUPS, audit_events, error_message, members_of


def test_add_change_role_and_remove(org: Org) -> None:
    group = org.group("Research")
    user = org.user()
    added = org.admin.post(f"{GROUPS}/{group}/member", json={"user_id": user, "role": "member"})
    assert added.status_code == 204 and added.content == b""
    again = org.admin.post(f"{GROUPS}/{group}/member", json={"user_id": user, "role": "admin"})
    name = org.admin.get(f"/v1/manage/user/{user}").json()["user"]["name"]
    assert again.status_code == 409 and error_message(again) == f"{name} is already a member of Research"
    assert members_of(org, group) == {user: "member"}

    promoted = org.admin.put(f"{GROUPS}/{group}/member/{user}/role", json={"role": "admin"})
    assert promoted.status_code == 200
    assert promoted.json()["member"]["role"] == "admin" and promoted.json()["member"]["id"] == user
    assert members_of(org, group) == {user: "admin"}

    removed = org.admin.request("DELETE", f"{GROUPS}/{group}/member", json={"user_id": user})
    assert removed.status_code == 204
    assert members_of(org, group) == {}
    gone = org.admin.request("DELETE", f"{GROUPS}/{group}/member", json={"user_id": user})
    assert gone.status_code == 404 and "not a member" in error_message(gone)

    org.add_member(group, user)
    assert org.admin.delete(f"{GROUPS}/{group}/member/{user}").status_code == 204
    assert members_of(org, group) == {}
    actions = [e["action"] for e in audit_events(org, group, "group.member.")]
    assert sorted(actions) == sorted(
        ["group.member.add", "group.member.role", "group.member.remove", "group.member.add", "group.member.remove"]
    )


def test_a_user_in_two_groups(org: Org) -> None:
    backend = org.group("Backend")
    devops = org.group("DevOps")
    user = org.user()
    org.add_member(backend, user)
    org.add_member(devops, user, role="admin")
    assert members_of(org, backend) == {user: "member"}
    assert members_of(org, devops) == {user: "admin"}
    groups = org.admin.get(f"/v1/manage/user/{user}/groups").json()
    assert {g["id"]: g["role"] for g in groups["direct"]} == {backend: "member", devops: "admin"}
    org.admin.delete(f"{GROUPS}/{backend}/member/{user}")
    assert members_of(org, devops) == {user: "admin"}


def test_bulk_add_reports_existing_members(org: Org) -> None:
    group = org.group("Platform")
    first, second, third = org.user(), org.user(), org.user()
    org.add_member(group, first)
    response = org.admin.post(f"{GROUPS}/{group}/members", json={"user_ids": [first, second, third, second]})
    assert response.status_code == 200, response.text
    assert response.json() == {"added": [second, third], "already_members": [first]}
    assert members_of(org, group) == {first: "member", second: "member", third: "member"}
    adds = audit_events(org, group, "group.member.add")
    assert sorted(e["after"]["user_id"] for e in adds) == sorted([first, second, third])

    admins = org.admin.post(f"{GROUPS}/{group}/members", json={"user_ids": [org.owner_id], "role": "admin"})
    assert admins.json() == {"added": [org.owner_id], "already_members": []}
    assert members_of(org, group)[org.owner_id] == "admin"


def test_bulk_add_with_one_unknown_id_adds_nobody(org: Org) -> None:
    group = org.group("Data")
    users = [org.user(), org.user()]
    unknown = "11111111-2222-3333-4444-555555555555"
    response = org.admin.post(f"{GROUPS}/{group}/members", json={"user_ids": [*users, unknown]})
    assert response.status_code == 404
    assert unknown in error_message(response) and "nobody" in error_message(response)
    assert members_of(org, group) == {}
    assert audit_events(org, group, "group.member.add") == []


def test_bulk_add_refuses_another_orgs_user(org: Org, new_org: Any) -> None:
    other = new_org("Other Org")
    foreign = other.user()
    group = org.group("Security")
    mine = org.user()
    response = org.admin.post(f"{GROUPS}/{group}/members", json={"user_ids": [mine, foreign]})
    assert response.status_code == 404 and foreign in error_message(response)
    assert members_of(org, group) == {}
    single = org.admin.post(f"{GROUPS}/{group}/member", json={"user_id": foreign, "role": "member"})
    assert single.status_code == 404 and foreign in error_message(single)
    assert members_of(org, group) == {}


def test_atomic_move(org: Org) -> None:
    source = org.group("Frontend Engineers")
    target = org.group("Design Team")
    user = org.user()
    org.add_member(source, user, role="admin")

    moved = org.admin.post(f"{GROUPS}/{source}/member/{user}/move", json={"to_group_id": target})
    assert moved.status_code == 200, moved.text
    member = moved.json()["member"]
    assert member["id"] == user and member["group_id"] == target and member["role"] == "admin"
    assert members_of(org, source) == {}
    assert members_of(org, target) == {user: "admin"}
    (event,) = audit_events(org, source, "group.member.move")
    assert event["before"] == {"group_id": source, "user_id": user, "role": "admin"}
    assert event["after"] == {"group_id": target, "user_id": user, "role": "admin"}

    back = org.admin.post(f"{GROUPS}/{target}/member/{user}/move", json={"to_group_id": source, "role": "member"})
    assert back.json()["member"]["role"] == "member"
    assert members_of(org, source) == {user: "member"} and members_of(org, target) == {}


def test_move_refusals_change_nothing(org: Org) -> None:
    source = org.group("One")
    target = org.group("Two")
    user, outsider = org.user(), org.user()
    org.add_member(source, user)
    org.add_member(target, user)
    already = org.admin.post(f"{GROUPS}/{source}/member/{user}/move", json={"to_group_id": target})
    assert already.status_code == 409 and "already a member" in error_message(already)
    itself = org.admin.post(f"{GROUPS}/{source}/member/{user}/move", json={"to_group_id": source})
    assert itself.status_code == 409
    not_member = org.admin.post(f"{GROUPS}/{source}/member/{outsider}/move", json={"to_group_id": target})
    assert not_member.status_code == 404 and "not a member" in error_message(not_member)
    unknown = "99999999-2222-3333-4444-555555555555"
    nowhere = org.admin.post(f"{GROUPS}/{source}/member/{user}/move", json={"to_group_id": unknown})
    assert nowhere.status_code == 404 and unknown in error_message(nowhere)
    assert members_of(org, source) == {user: "member"} and members_of(org, target) == {user: "member"}
    assert audit_events(org, source, "group.member.move") == []
