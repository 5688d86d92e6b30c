"""Who may do what to groups: org admins everything; group admins their group and its subtree;
members read their groups; everyone else 403; another organization's groups do not exist (404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Api, Org
from tests.groups.acting import GROUPS, as_user, members_of


@dataclass
class Tree:
    """Engineering → Backend → On-call, and Engineering → Frontend; Marketing beside Engineering."""

    eng: str
    backend: str
    oncall: str
    frontend: str
    marketing: str


def _tree(org: Org) -> Tree:
    eng = org.group("Engineering")
    backend = org.group("Backend", parent_id=eng)
    return Tree(
        eng=eng,
        backend=backend,
        oncall=org.group("On-call", parent_id=backend),
        frontend=org.group("Frontend", parent_id=eng),
        marketing=org.group("Marketing"),
    )


def test_group_admin_manages_the_subtree_but_not_a_sibling(org: Org) -> None:
    t = _tree(org)
    admin_id, admin = as_user(org)
    org.add_member(t.backend, admin_id, role="admin")
    newcomer = org.user()

    # Members and roles in their group and below.
    assert admin.post(f"{GROUPS}/{t.backend}/member", json={"user_id": newcomer, "role": "member"}).status_code == 204
    assert admin.post(f"{GROUPS}/{t.oncall}/members", json={"user_ids": [newcomer]}).status_code == 200
    assert admin.put(f"{GROUPS}/{t.oncall}/member/{newcomer}/role", json={"role": "admin"}).status_code == 200
    assert admin.delete(f"{GROUPS}/{t.oncall}/member/{newcomer}").status_code == 204
    # Settings of their own group and its subgroups, and new subgroups under them.
    assert admin.patch(f"{GROUPS}/{t.backend}", json={"description": "APIs"}).status_code == 200
    assert admin.patch(f"{GROUPS}/{t.oncall}", json={"monthly_budget": 10}).status_code == 200
    created = admin.post(GROUPS, json={"name": "Databases", "parent_id": t.backend})
    assert created.status_code == 200
    sub = created.json()["group_id"]
    # Moves and deletes inside the subtree.
    assert admin.patch(f"{GROUPS}/{sub}", json={"parent_id": t.oncall}).status_code == 200
    assert admin.delete(f"{GROUPS}/{sub}").status_code == 204

    # Not the sibling, not the parent, not the top level, not out of the subtree.
    assert admin.get(f"{GROUPS}/{t.frontend}").status_code == 403
    assert admin.post(f"{GROUPS}/{t.frontend}/member", json={"user_id": newcomer}).status_code == 403
    assert admin.patch(f"{GROUPS}/{t.frontend}", json={"description": "x"}).status_code == 403
    assert admin.patch(f"{GROUPS}/{t.eng}", json={"description": "x"}).status_code == 403
    assert admin.post(GROUPS, json={"name": "Rogue"}).status_code == 403
    assert admin.post(GROUPS, json={"name": "Rogue", "parent_id": t.marketing}).status_code == 403
    assert admin.patch(f"{GROUPS}/{t.oncall}", json={"parent_id": t.frontend}).status_code == 403
    assert admin.patch(f"{GROUPS}/{t.oncall}", json={"parent_id": None}).status_code == 403
    assert admin.patch(f"{GROUPS}/{t.backend}", json={"parent_id": t.marketing}).status_code == 403
    assert admin.delete(f"{GROUPS}/{t.backend}", params={"recursive": "true"}).status_code == 403
    assert admin.patch(f"{GROUPS}/{t.oncall}", json={"default": True}).status_code == 403
    to_sibling = admin.post(f"{GROUPS}/{t.backend}/member/{newcomer}/move", json={"to_group_id": t.frontend})
    assert to_sibling.status_code == 403
    assert members_of(org, t.backend)[newcomer] == "member"
    assert org.admin.get(f"{GROUPS}/{t.oncall}").json()["group"]["parent_id"] == t.backend

    # They read what is theirs: their subtree, and the ancestors on their way up.
    visible = {g["id"] for g in admin.get(GROUPS).json()["groups"]}
    assert visible == {t.eng, t.backend, t.oncall}
    (root,) = admin.get(f"{GROUPS}/tree").json()["tree"]
    assert root["id"] == t.eng and [c["id"] for c in root["children"]] == [t.backend]


def test_member_reads_their_group_but_cannot_change_it(org: Org) -> None:
    t = _tree(org)
    member_id, member = as_user(org)
    org.add_member(t.backend, member_id)
    other = org.user()

    got = member.get(f"{GROUPS}/{t.backend}")
    assert got.status_code == 200 and member_id in {m["id"] for m in got.json()["group"]["members"]}
    assert member.get(f"{GROUPS}/{t.eng}").status_code == 200  # an ancestor of their group
    assert member.get(f"{GROUPS}/{t.oncall}").status_code == 403
    assert member.get(f"{GROUPS}/{t.marketing}").status_code == 403
    assert {g["id"] for g in member.get(GROUPS).json()["groups"]} == {t.eng, t.backend}

    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"{GROUPS}/{t.backend}", {"json": {"name": "Mine now"}}),
        ("POST", GROUPS, {"json": {"name": "Sub", "parent_id": t.backend}}),
        ("DELETE", f"{GROUPS}/{t.oncall}", {}),
        ("POST", f"{GROUPS}/{t.backend}/member", {"json": {"user_id": other}}),
        ("POST", f"{GROUPS}/{t.backend}/members", {"json": {"user_ids": [other]}}),
        ("PUT", f"{GROUPS}/{t.backend}/member/{member_id}/role", {"json": {"role": "admin"}}),
        ("DELETE", f"{GROUPS}/{t.backend}/member/{member_id}", {}),
        ("POST", f"{GROUPS}/{t.backend}/member/{member_id}/move", {"json": {"to_group_id": t.eng}}),
    ]
    for method, path, kwargs in writes:
        response = member.request(method, path, **kwargs)
        assert response.status_code == 403, (method, path, response.text)
    assert members_of(org, t.backend) == {member_id: "member"}
    assert org.admin.get(f"{GROUPS}/{t.backend}").json()["group"]["name"] == "Backend"


def test_org_admin_role_manages_everything(org: Org) -> None:
    t = _tree(org)
    _, admin = as_user(org, role="admin")
    assert admin.patch(f"{GROUPS}/{t.oncall}", json={"parent_id": t.marketing}).status_code == 200
    assert admin.delete(f"{GROUPS}/{t.eng}", params={"recursive": True}).status_code == 204
    assert {g["id"] for g in admin.get(GROUPS).json()["groups"]} == {t.marketing, t.oncall}


def test_a_read_only_key_cannot_write(org: Org) -> None:
    group = org.group("Readers")
    reader = org.key(org.owner_id, manage="read")
    assert reader.get(f"{GROUPS}/{group}").status_code == 200
    refused = reader.patch(f"{GROUPS}/{group}", json={"name": "x"})
    assert refused.status_code == 403 and "manage write" in refused.json()["error"]["message"]


def _every_endpoint(group: str, user: str, other_group: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", f"{GROUPS}/{group}", {}),
        ("PATCH", f"{GROUPS}/{group}", {"json": {"name": "taken over"}}),
        ("DELETE", f"{GROUPS}/{group}", {"params": {"recursive": "true"}}),
        ("POST", GROUPS, {"json": {"name": "inside", "parent_id": group}}),
        ("POST", f"{GROUPS}/{group}/member", {"json": {"user_id": user, "role": "admin"}}),
        ("POST", f"{GROUPS}/{group}/members", {"json": {"user_ids": [user]}}),
        ("PUT", f"{GROUPS}/{group}/member/{user}/role", {"json": {"role": "admin"}}),
        ("DELETE", f"{GROUPS}/{group}/member", {"json": {"user_id": user}}),
        ("DELETE", f"{GROUPS}/{group}/member/{user}", {}),
        ("POST", f"{GROUPS}/{group}/member/{user}/move", {"json": {"to_group_id": other_group}}),
        ("POST", f"{GROUPS}/{other_group}/member/{user}/move", {"json": {"to_group_id": group}}),
        ("PATCH", f"{GROUPS}/{other_group}", {"json": {"parent_id": group}}),
    ]


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_another_orgs_group_is_not_found(org: Org, new_org: Any, role: str) -> None:
    other = new_org("Elsewhere")
    their_group = other.group("Theirs")
    their_user = other.user()
    other.add_member(their_group, their_user)
    mine = org.group("Mine")
    caller: Api = org.admin if role == "owner" else as_user(org, role=role)[1]
    if role == "member":
        org.add_member(mine, org.user())
    for method, path, kwargs in _every_endpoint(their_group, their_user, mine):
        response = caller.request(method, path, **kwargs)
        assert response.status_code == 404, (role, method, path, response.text)
    assert their_group not in {g["id"] for g in caller.get(GROUPS).json()["groups"]}
    assert members_of(other, their_group) == {their_user: "member"}
    assert other.admin.get(f"{GROUPS}/{their_group}").json()["group"]["name"] == "Theirs"
