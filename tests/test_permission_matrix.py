"""Every management endpoint × every role × own org / other org (docs/design.md §2, issue: who may do what).

Roles, all holding a key with `manage: write`, so only the role decides:
- owner, admin: the org roles;
- group_admin: `admin` of Engineering, the parent of the target group Backend;
- member: a plain member of Backend;
- outsider: a member of the org in no group.

Each case builds a fresh target for each call, so a call that succeeds (a delete, a move) cannot
change what the next role sees. A target in another organization answers 404 to everyone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Api, Org, make_org

ROLES = ("owner", "admin", "group_admin", "member", "outsider")
ADMINS = {"owner", "admin"}
GROUP_ADMINS = ADMINS | {"group_admin"}
READERS = GROUP_ADMINS | {"member"}
EVERYONE = set(ROLES)


@dataclass
class World:
    org: Org
    keys: dict[str, Api]
    eng: str
    backend: str
    frontend: str
    member_id: str

    def fresh_user_in_backend(self) -> str:
        user = self.org.user()
        self.org.add_member(self.backend, user)
        return user

    def fresh_key_in_backend(self) -> str:
        owner = self.fresh_user_in_backend()
        response = self.org.admin.post(
            "/v1/manage/apikey", json={"name": "k", "owner_id": owner, "group_id": self.backend}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["api_key_id"])

    def fresh_access_list(self) -> str:
        response = self.org.admin.post("/v1/manage/access-list", json={"name": uuid.uuid4().hex[:8], "chat": []})
        assert response.status_code == 200, response.text
        return str(response.json()["id"])


def build_world(org: Org) -> World:
    eng = org.group("Engineering", kind="department")
    backend = org.group("Backend Engineers", parent_id=eng)
    frontend = org.group("Frontend Engineers", parent_id=eng)
    ids = {
        "admin": org.user(role="admin"),
        "group_admin": org.user(),
        "member": org.user(),
        "outsider": org.user(),
    }
    org.add_member(eng, ids["group_admin"], role="admin")
    org.add_member(backend, ids["member"])
    keys = {"owner": org.admin} | {role: org.key(user_id, manage="write") for role, user_id in ids.items()}
    return World(org=org, keys=keys, eng=eng, backend=backend, frontend=frontend, member_id=ids["member"])


# A case builds (method, path, json body) against a world; `allowed` is the set of roles that succeed.
Request = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[World], Request]
    allowed: set[str]
    cross_org: bool = True  # the request names an object, so another org's copy must answer 404


CASES = [
    Case("list groups", lambda w: ("GET", "/v1/manage/group", None), EVERYONE, cross_org=False),
    Case("group tree", lambda w: ("GET", "/v1/manage/group/tree", None), EVERYONE, cross_org=False),
    Case("get group", lambda w: ("GET", f"/v1/manage/group/{w.backend}", None), READERS),
    Case(
        "patch group",
        lambda w: ("PATCH", f"/v1/manage/group/{w.backend}", {"description": uuid.uuid4().hex}),
        GROUP_ADMINS,
    ),
    Case(
        "create subgroup",
        lambda w: ("POST", "/v1/manage/group", {"name": uuid.uuid4().hex[:8], "parent_id": w.backend}),
        GROUP_ADMINS,
    ),
    Case(
        "delete group",
        lambda w: ("DELETE", f"/v1/manage/group/{w.org.group(parent_id=w.backend)}", None),
        GROUP_ADMINS,
    ),
    Case(
        "add member",
        lambda w: ("POST", f"/v1/manage/group/{w.backend}/member", {"user_id": w.org.user(), "role": "member"}),
        GROUP_ADMINS,
    ),
    Case(
        "bulk add members",
        lambda w: ("POST", f"/v1/manage/group/{w.backend}/members", {"user_ids": [w.org.user()], "role": "member"}),
        GROUP_ADMINS,
    ),
    Case(
        "change member role",
        lambda w: ("PUT", f"/v1/manage/group/{w.backend}/member/{w.fresh_user_in_backend()}/role", {"role": "admin"}),
        GROUP_ADMINS,
    ),
    Case(
        "remove member",
        lambda w: ("DELETE", f"/v1/manage/group/{w.backend}/member/{w.fresh_user_in_backend()}", None),
        GROUP_ADMINS,
    ),
    Case(
        "move member",
        lambda w: (
            "POST",
            f"/v1/manage/group/{w.backend}/member/{w.fresh_user_in_backend()}/move",
            {"to_group_id": w.frontend},
        ),
        GROUP_ADMINS,
    ),
    Case("list users", lambda w: ("GET", "/v1/manage/user", None), EVERYONE, cross_org=False),
    Case(
        "create user",
        lambda w: ("POST", "/v1/manage/user", {"email": f"{uuid.uuid4().hex[:8]}@example.com"}),
        ADMINS,
        cross_org=False,
    ),
    Case("get user", lambda w: ("GET", f"/v1/manage/user/{w.fresh_user_in_backend()}", None), GROUP_ADMINS),
    Case("user groups", lambda w: ("GET", f"/v1/manage/user/{w.fresh_user_in_backend()}/groups", None), GROUP_ADMINS),
    Case(
        "update user",
        lambda w: ("PATCH", f"/v1/manage/user/{w.fresh_user_in_backend()}", {"name": "Renamed"}),
        ADMINS,
    ),
    Case(
        "deactivate user",
        lambda w: ("POST", f"/v1/manage/user/{w.fresh_user_in_backend()}/deactivate", None),
        ADMINS,
    ),
    Case("list keys", lambda w: ("GET", "/v1/manage/apikey", None), EVERYONE, cross_org=False),
    Case("create own key", lambda w: ("POST", "/v1/manage/apikey", {"name": "mine"}), EVERYONE, cross_org=False),
    Case(
        "create key for another user",
        lambda w: (
            "POST",
            "/v1/manage/apikey",
            {"name": "theirs", "owner_id": w.fresh_user_in_backend(), "group_id": w.backend},
        ),
        GROUP_ADMINS,
    ),
    Case("get key", lambda w: ("GET", f"/v1/manage/apikey/{w.fresh_key_in_backend()}", None), GROUP_ADMINS),
    Case("revoke key", lambda w: ("DELETE", f"/v1/manage/apikey/{w.fresh_key_in_backend()}", None), GROUP_ADMINS),
    Case(
        "key limit",
        lambda w: ("POST", f"/v1/manage/apikey/{w.fresh_key_in_backend()}/limit", {"monthly_limit": "5"}),
        GROUP_ADMINS,
    ),
    Case(
        "key labels",
        lambda w: ("POST", f"/v1/manage/apikey/{w.fresh_key_in_backend()}/label", {"labels": {"team": "x"}}),
        GROUP_ADMINS,
    ),
    Case(
        "key expiry",
        lambda w: ("POST", f"/v1/manage/apikey/{w.fresh_key_in_backend()}/expiry", {"expires_at": None}),
        GROUP_ADMINS,
    ),
    Case("list access lists", lambda w: ("GET", "/v1/manage/access-list", None), EVERYONE, cross_org=False),
    Case(
        "create access list",
        lambda w: ("POST", "/v1/manage/access-list", {"name": uuid.uuid4().hex[:8], "chat": ["mock/gpt-4o"]}),
        ADMINS,
        cross_org=False,
    ),
    Case("get access list", lambda w: ("GET", f"/v1/manage/access-list/{w.fresh_access_list()}", None), EVERYONE),
    Case(
        "patch access list",
        lambda w: ("PATCH", f"/v1/manage/access-list/{w.fresh_access_list()}", {"chat": ["mock/gpt-4o"]}),
        ADMINS,
    ),
    Case("delete access list", lambda w: ("DELETE", f"/v1/manage/access-list/{w.fresh_access_list()}", None), ADMINS),
    Case("get org", lambda w: ("GET", "/v1/manage/org", None), EVERYONE, cross_org=False),
    Case("patch org", lambda w: ("PATCH", "/v1/manage/org", {"timezone": "UTC"}), ADMINS, cross_org=False),
    Case(
        "org default access list",
        lambda w: ("POST", "/v1/manage/org/group/access-list", {"access_list_id": None}),
        ADMINS,
        cross_org=False,
    ),
    Case("audit log", lambda w: ("GET", "/v1/manage/audit", None), ADMINS, cross_org=False),
]


@pytest.fixture(scope="module")
def worlds(client: Any, db: Any) -> tuple[World, World]:
    return build_world(make_org(client, db, "Org A")), build_world(make_org(client, db, "Org B"))


def _audit_total(world: World) -> int:
    return int(world.org.admin.get("/v1/manage/audit", params={"limit": 1}).json()["total"])


def _send(api: Api, request: Request) -> Any:
    method, path, body = request
    return api.request(method, path, json=body) if body is not None else api.request(method, path)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_own_org(case: Case, worlds: tuple[World, World]) -> None:
    world, _ = worlds
    outcome = {}
    for role in ROLES:
        request = case.build(world)
        events_before = _audit_total(world)
        response = _send(world.keys[role], request)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["error"]["message"], response.text
        outcome[role] = response.status_code
        changed = _audit_total(world) - events_before
        if request[0] == "GET" or response.status_code >= 400:
            assert changed == 0, (role, "a read or a refusal wrote to the audit log")
        else:
            assert changed >= 1, (role, "a change left no audit event")
    allowed = {role for role, status in outcome.items() if 200 <= status < 300}
    refused = {role: status for role, status in outcome.items() if role not in allowed}
    assert allowed == case.allowed, outcome
    assert set(refused.values()) <= {403}, outcome


@pytest.mark.parametrize("case", [c for c in CASES if c.cross_org], ids=lambda c: c.name)
def test_other_org_answers_404(case: Case, worlds: tuple[World, World]) -> None:
    mine, theirs = worlds
    request = case.build(theirs)  # objects made in the other org
    for role in ROLES:
        response = _send(mine.keys[role], request)
        assert response.status_code == 404, (role, response.text)
