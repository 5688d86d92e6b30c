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

import csv
import io
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from covey.config import Settings
from covey.keys.secrets import issue
from covey.models import ApiKey
from tests.admin.browser import live_server
from tests.admin.conftest import PanelSession, give_password
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
    ids: dict[str, str] = field(default_factory=dict)
    db: Any = None
    served: str = ""  # the same app served by uvicorn over a real socket

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


def build_world(org: Org, *, db: Any = None) -> World:
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
    return World(
        org=org, keys=keys, eng=eng, backend=backend, frontend=frontend, member_id=ids["member"], ids=ids, db=db
    )


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


# --- Attacks: ways around the rules, each refused with a 4xx naming the reason, changing nothing and
# writing no audit event. `attack(world)` runs one against a fresh organization.


def _refused(world: World, response: Any, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]["message"], response.text


def _audited(world: World) -> Callable[[], None]:
    """Call the answer after the attack: it asserts the attack left the audit log as it was."""
    before = _audit_total(world)
    return lambda: _changed_nothing(world, before)


def _changed_nothing(world: World, before: int) -> None:
    assert _audit_total(world) == before, "a refused attack wrote to the audit log"


def _key_made_earlier(world: World, *, creator: str, owner: str, group_id: str | None) -> Api:
    """A key with `manage: write` for `owner` made by `creator`, as rows made before these rules
    (or before a change of role) hold them: the rules must hold at the request, not only at creation."""
    issued = issue()
    with world.db.transaction() as session:
        session.add(
            ApiKey(
                org_id=world.org.id,
                name="earlier",
                key_hash=issued.key_hash,
                prefix=issued.prefix,
                owner_id=owner,
                group_id=group_id,
                manage="write",
                created_by=creator,
            )
        )
    return Api(world.org.admin.client, issued.secret)


def _role(world: World, user_id: str) -> str:
    return str(world.org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["role"])


def attack_group_admin_borrows_the_owner(world: World) -> None:
    """1. A group admin enrols the owner in their group and makes a management key owned by them."""
    org, ga = world.org, world.ids["group_admin"]
    org.add_member(world.backend, org.owner_id)
    check = _audited(world)
    made = world.keys["group_admin"].post(
        "/v1/manage/apikey",
        json={"name": "x", "owner_id": org.owner_id, "group_id": world.backend, "permissions": {"manage": "write"}},
    )
    _refused(world, made, 403, "is an org owner")
    check()
    borrowed = _key_made_earlier(world, creator=ga, owner=org.owner_id, group_id=world.backend)
    check = _audited(world)
    _refused(world, borrowed.patch(f"/v1/manage/user/{ga}", json={"role": "admin"}), 403, "manage write permission")
    _refused(world, borrowed.post("/v1/manage/scim/token", json={"name": "idp"}), 403, "manage write permission")
    check()
    assert _role(world, ga) == "member"


def attack_admin_borrows_the_owner(world: World) -> None:
    """2. An org admin makes a key owned by the owner and makes themselves owner with it."""
    org, admin = world.org, world.ids["admin"]
    check = _audited(world)
    made = world.keys["admin"].post(
        "/v1/manage/apikey", json={"name": "x", "owner_id": org.owner_id, "permissions": {"manage": "write"}}
    )
    _refused(world, made, 403, "is an org owner")
    borrowed = _key_made_earlier(world, creator=admin, owner=org.owner_id, group_id=None)
    _refused(world, borrowed.patch(f"/v1/manage/user/{admin}", json={"role": "owner"}), 403, "manage write permission")
    # The panel makes keys through the same rule.
    panel = PanelSession(world.org.admin.client)
    email = world.org.admin.get(f"/v1/manage/user/{admin}").json()["user"]["email"]
    assert panel.sign_in(email, give_password(world.db, admin)).status_code == 303
    check = _audited(world)
    form = panel.fetch("/admin/keys", {"name": "x", "owner_id": org.owner_id, "manage": "write"})
    _refused(world, form, 403, "is an org owner")
    check()
    assert _role(world, admin) == "admin"


def attack_member_lifts_what_an_admin_set(world: World) -> None:
    """3. A member lifts the limit and expiry an admin set on their key, or mints a key without them."""
    org, member = world.org, world.ids["member"]
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    made = world.keys["admin"].post(
        "/v1/manage/apikey",
        json={
            "name": "capped",
            "owner_id": member,
            "monthly_limit": 5,
            "expires_at": expires,
            "permissions": {"manage": "write"},
        },
    )
    assert made.status_code == 200, made.text
    key_id, capped = made.json()["api_key_id"], Api(org.admin.client, made.json()["api_key"])
    before = org.admin.get(f"/v1/manage/apikey/{key_id}").json()
    check = _audited(world)
    for limit in (0, 6):
        lifted = capped.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": limit})
        _refused(world, lifted, 403, "you may lower it")
    for expiry in ("2099-01-01T00:00:00Z", None):
        extended = capped.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": expiry})
        _refused(world, extended, 403, "you may lower it")
    _refused(world, capped.post("/v1/manage/apikey", json={"name": "free"}), 403, "at most its limit, $5")
    longer = {"name": "later", "monthly_limit": 5, "expires_at": "2099-01-01T00:00:00Z"}
    _refused(world, capped.post("/v1/manage/apikey", json=longer), 403, "must expire by")
    check()
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json() | {"last_used_at": None} == before | {
        "last_used_at": None
    }
    # Within what the admin set, the member still decides: lowering is theirs, and stays the admin's line.
    assert capped.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": 3}).status_code == 204
    _refused(world, capped.post(f"/v1/manage/apikey/{key_id}/limit", json={"monthly_limit": 4}), 403, "set by")
    inside = capped.post("/v1/manage/apikey", json={"name": "inside", "monthly_limit": 2, "expires_at": expires})
    assert inside.status_code == 200, inside.text


def attack_group_admin_lifts_the_budget_an_org_admin_set(world: World) -> None:
    """3, for groups: a group admin raises or removes their group's budget, or softens or deletes a line."""
    org, ga = world.org, world.keys["group_admin"]
    assert org.admin.patch(f"/v1/manage/group/{world.backend}", json={"monthly_budget": 500}).status_code == 200
    line = org.admin.post(
        "/v1/manage/budget", json={"owner_type": "group", "owner_id": world.backend, "period": "week", "amount": 100}
    )
    assert line.status_code == 200, line.text
    line_id = line.json()["budget"]["id"]
    check = _audited(world)
    for body in ({"monthly_budget": 0}, {"monthly_budget": 1000}):
        _refused(world, ga.patch(f"/v1/manage/group/{world.backend}", json=body), 403, "you may lower it")
    _refused(world, ga.patch(f"/v1/manage/budget/{line_id}", json={"amount": 200}), 403, "you may lower it")
    _refused(world, ga.patch(f"/v1/manage/budget/{line_id}", json={"enforcement": "soft"}), 403, "you may lower it")
    _refused(world, ga.delete(f"/v1/manage/budget/{line_id}"), 403, "you may lower it")
    check()
    group = org.admin.get(f"/v1/manage/group/{world.backend}").json()["group"]
    assert Decimal(group["monthly_budget"]) == 500
    assert ga.patch(f"/v1/manage/group/{world.backend}", json={"monthly_budget": 400}).status_code == 200


INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a00:5]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::]/",
    "http://[ff02::1]/",
    "https://user:secret@example.com/",
]


def attack_admin_lifts_their_own_user_limit(world: World) -> None:
    """3, for people: an admin raises or removes the monthly limit the owner set on them."""
    admin_id, admin = world.ids["admin"], world.keys["admin"]
    assert world.org.admin.patch(f"/v1/manage/user/{admin_id}", json={"monthly_limit": 50}).status_code == 200
    check = _audited(world)
    for limit in (0, 80):
        lifted = admin.patch(f"/v1/manage/user/{admin_id}", json={"monthly_limit": limit})
        _refused(world, lifted, 403, "you may lower it")
    check()
    assert Decimal(world.org.admin.get(f"/v1/manage/user/{admin_id}").json()["user"]["monthly_limit"]) == 50
    assert admin.patch(f"/v1/manage/user/{admin_id}", json={"monthly_limit": 40}).status_code == 200


def attack_webhook_reaches_inside(world: World) -> None:
    """4. An org admin points a webhook at the host's own services, cloud metadata or the private network."""
    admin = world.keys["admin"]
    public = admin.post("/v1/manage/webhook", json={"url": "https://hooks.example.com/covey"})
    assert public.status_code == 200, public.text
    hook_id = public.json()["webhook_id"]
    check = _audited(world)
    for url in INTERNAL_URLS:
        _refused(world, admin.post("/v1/manage/webhook", json={"url": url}), 400, "url: ")
        _refused(world, admin.patch(f"/v1/manage/webhook/{hook_id}", json={"url": url}), 400, "url: ")
    check()
    hooks = admin.get("/v1/manage/webhook").json()["webhooks"]
    assert [h["url"] for h in hooks] == ["https://hooks.example.com/covey"]


def _raw(world: World, head: str, body: bytes = b"") -> str:
    """Send a request's head (and the start of its body) over a socket; the status line that comes
    back while the rest of the body is still unsent."""
    host, port = world.served.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        return conn.recv(65536).decode("latin-1").split("\r\n", 1)[0]


def attack_huge_bodies(world: World) -> None:
    """5. 100 MB bodies: from nobody they are refused from the headers, before a byte is read; from
    anyone they are refused at the limit, before they are parsed, on every path."""
    key, huge = world.keys["admin"].key, 100 * 1024 * 1024
    check = _audited(world)
    for path, auth in (
        ("/v1/manage/user", ""),
        ("/v1/manage/user", "Authorization: Bearer cvy_not-a-key\n"),
        ("/scim/v2/Users", ""),
        ("/scim/v2/Users", "Authorization: Bearer not-a-scim-token\n"),
        ("/v1/chat/completions", ""),
    ):
        head = f"POST {path} HTTP/1.1\nHost: covey\n{auth}Content-Type: application/json\nContent-Length: {huge}\n"
        assert _raw(world, head, b'{"email": "') == "HTTP/1.1 401 Unauthorized", path
    for path in ("/v1/manage/user", "/v1/chat/completions"):
        head = f"POST {path} HTTP/1.1\nHost: covey\nAuthorization: Bearer {key}\nContent-Length: {huge}\n"
        deadline = time.monotonic() + 10
        while (status := _raw(world, head, b"{")) == "HTTP/1.1 401 Unauthorized" and time.monotonic() < deadline:
            time.sleep(0.05)  # until the served gateway's snapshot has the new org's key
        assert status == "HTTP/1.1 413 Request Entity Too Large", path
    # Without a declared length the body is read up to the limit, no further.
    limit = 1024 * 1024
    over = json.dumps({"email": "x@example.com", "name": "x" * limit}).encode()
    for api, path in ((world.keys["admin"], "/v1/manage/user"), (world.keys["admin"], "/v1/manage/group")):
        chunked = api.post(path, content=iter([over[:1000], over[1000:]]), headers={"Content-Type": "application/json"})
        _refused(world, chunked, 413, f"Request body too large (limit {limit} bytes)")
    panel = world.org.admin.client.post("/admin/sign-in", content=b"email=" + b"a" * (limit + 1))
    assert panel.status_code == 413 and str(limit) in panel.text
    check()


def attack_lock_the_owner_out(world: World) -> None:
    """6. Anyone who knows the owner's email types wrong passwords to keep them out of the panel."""
    org = world.org
    attacker = PanelSession(org.admin.client)
    for _ in range(5):
        assert attacker.sign_in(org.owner_email, "guess").status_code == 401
    locked = attacker.sign_in(org.owner_email, org.password)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    with httpx.Client(base_url=world.served) as elsewhere:  # the owner, from their own address
        owner = PanelSession(elsewhere)  # type: ignore[arg-type]
        assert owner.sign_in(org.owner_email, org.password).status_code == 303


def attack_formula_in_a_csv(world: World) -> None:
    """7. A group named as a spreadsheet formula reaches the CSV exports as a live formula."""
    name = '=HYPERLINK("http://attacker.example/","click")'
    group = world.org.group(name)
    user = world.org.user()
    world.org.add_member(group, user)
    key = world.org.key(user, group_id=group)
    chat = {"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    deadline = time.monotonic() + 10
    while key.post("/v1/chat/completions", json=chat).status_code != 200:  # until the gateway has the key
        assert time.monotonic() < deadline
        time.sleep(0.05)
    while True:
        allocation = world.org.admin.get("/v1/manage/report/allocation", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(allocation.text)))
        if any(r["top_group"].endswith(name) for r in rows) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert any(r["top_group"] == "'" + name for r in rows), allocation.text
    assert not any(v.startswith("=") for r in rows for v in r.values())
    tree = world.org.admin.get("/v1/manage/report/group-tree", params={"format": "csv"})
    assert "'" + name in {r["name"] for r in csv.DictReader(io.StringIO(tree.text))}


ATTACKS = [
    attack_group_admin_borrows_the_owner,
    attack_admin_borrows_the_owner,
    attack_member_lifts_what_an_admin_set,
    attack_group_admin_lifts_the_budget_an_org_admin_set,
    attack_admin_lifts_their_own_user_limit,
    attack_webhook_reaches_inside,
    attack_huge_bodies,
    attack_lock_the_owner_out,
    attack_formula_in_a_csv,
]


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[str]:
    with live_server(settings) as base_url:
        yield base_url


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.__name__.removeprefix("attack_"))
def test_attack_is_refused(attack: Callable[[World], None], client: Any, db: Any, served: str) -> None:
    world = build_world(make_org(client, db, "Attacked"), db=db)
    world.served = served
    attack(world)


# --- Who may make which key for whom, and the management rights the key ends up with (docs/design.md §2).
# Each maker asks for `manage: write`; the key lands with "write", or the request is refused (403).


def _people(world: World) -> dict[str, str]:
    org = world.org
    sales = org.group("Sales")
    people = {
        "owner": org.owner_id,
        "another owner": org.user(role="owner"),
        "another admin": org.user(role="admin"),
        "another admin of Engineering": org.user(),
        "admin in Backend": org.user(role="admin"),
        "another member of Backend": org.user(),
        "member of Backend and Sales": org.user(),
        "member of Sales": org.user(),
    }
    org.add_member(world.eng, people["another admin of Engineering"], role="admin")
    for name in ("admin in Backend", "another member of Backend", "member of Backend and Sales"):
        org.add_member(world.backend, people[name])
    org.add_member(sales, people["member of Backend and Sales"])
    org.add_member(sales, people["member of Sales"])
    return people | {name: uid for name, uid in world.ids.items()} | {"Sales": sales}


WHO_FOR_WHOM = [
    # maker, the key's owner, its group ("" = personal), what happens
    ("owner", "owner", "", "write"),
    ("owner", "another owner", "", "write"),
    ("owner", "member of Sales", "Sales", "write"),
    ("admin", "admin", "", "write"),
    ("admin", "another admin", "", "write"),
    ("admin", "owner", "", "403 is an org owner"),
    ("admin", "member of Sales", "Sales", "write"),
    ("group_admin", "group_admin", "Engineering", "write"),
    ("group_admin", "another admin of Engineering", "Engineering", "write"),
    ("group_admin", "another member of Backend", "Backend", "write"),
    ("group_admin", "admin in Backend", "Backend", "403 is an org admin"),
    ("group_admin", "member of Backend and Sales", "Backend", "403 can carry no management rights"),
    ("group_admin", "member of Sales", "Sales", "403 only org admins, or admins of the key's group"),
    ("member", "member", "Backend", "write"),
    ("member", "another member of Backend", "Backend", "403 only org admins, or admins of the key's group"),
    ("member", "group_admin", "Engineering", "403 only org admins, or admins of the key's group"),
    ("member", "member of Sales", "Sales", "403 only org admins, or admins of the key's group"),
]


def _rights(api: Api) -> str:
    response = api.get("/v1/manage/apikey")
    assert response.status_code in (200, 403), response.text
    return "write" if response.status_code == 200 else "none"


@pytest.fixture(scope="module")
def keyed_world(client: Any, db: Any) -> tuple[World, dict[str, str]]:
    world = build_world(make_org(client, db, "Keys"), db=db)
    return world, _people(world)


@pytest.mark.parametrize("row", WHO_FOR_WHOM, ids=lambda r: f"{r[0]} for {r[1]}")
def test_who_may_make_which_key_for_whom(row: tuple[str, str, str, str], keyed_world: Any) -> None:
    world, people = keyed_world
    maker, owner, group, expected = row
    groups = {"": None, "Engineering": world.eng, "Backend": world.backend, "Sales": people["Sales"]}
    body = {"name": "k", "owner_id": people.get(owner, world.org.owner_id), "permissions": {"manage": "write"}}
    if groups[group]:
        body["group_id"] = groups[group]
    before = _audit_total(world)
    response = world.keys[maker].post("/v1/manage/apikey", json=body)
    if expected.startswith("403"):
        _refused(world, response, 403, expected.removeprefix("403 "))
        assert _audit_total(world) == before
        return
    assert response.status_code == 200, response.text
    assert _rights(Api(world.org.admin.client, response.json()["api_key"])) == expected


def test_a_keys_rights_follow_its_maker_and_owner_roles(keyed_world: Any) -> None:
    """Re-decided on every request: the owner rising above the maker, or the maker losing the role
    that covered the owner, takes the key's management rights away until it is so again."""
    world, _ = keyed_world
    owner = world.org.admin
    teammate = world.org.user()
    world.org.add_member(world.backend, teammate)
    made = world.keys["group_admin"].post(
        "/v1/manage/apikey",
        json={"name": "k", "owner_id": teammate, "group_id": world.backend, "permissions": {"manage": "write"}},
    )
    assert made.status_code == 200, made.text
    key = Api(owner.client, made.json()["api_key"])
    assert _rights(key) == "write"
    assert owner.patch(f"/v1/manage/user/{teammate}", json={"role": "admin"}).status_code == 200
    assert _rights(key) == "none"
    assert owner.patch(f"/v1/manage/user/{teammate}", json={"role": "member"}).status_code == 200
    assert _rights(key) == "write"
    ga = world.ids["group_admin"]
    assert owner.put(f"/v1/manage/group/{world.eng}/member/{ga}/role", json={"role": "member"}).status_code == 200
    assert _rights(key) == "none"
    assert owner.put(f"/v1/manage/group/{world.eng}/member/{ga}/role", json={"role": "admin"}).status_code == 200
    assert _rights(key) == "write"
    # What the key does is audited under its owner, naming who made the key (who saw its secret).
    assert key.post("/v1/manage/apikey", json={"name": "own"}).status_code == 200
    event = owner.get("/v1/manage/audit", params={"limit": 1}).json()["events"][0]
    maker = owner.get(f"/v1/manage/user/{ga}").json()["user"]["email"]
    assert event["actor_id"] == teammate and event["actor_label"].endswith(f"(key made by {maker})")
