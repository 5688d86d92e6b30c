"""Who may make, see and change which key (docs/design.md §2), and what a key may be given."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from covey.kit.db import Database
from covey.models import Group
from tests.conftest import Api, Org


def _key_ids(api: Api, **params: Any) -> set[str]:
    response = api.get("/v1/manage/apikey", params=params)
    assert response.status_code == 200, response.text
    return {k["id"] for k in response.json()["keys"]}


def _create(api: Api, **body: Any) -> Any:
    return api.post("/v1/manage/apikey", json={"name": "k", **body})


def test_self_works_with_a_completions_only_key(org: Org) -> None:
    user = org.user()
    key = org.key(user, manage="none", completions="write")
    me = key.get("/v1/manage/apikey/self")
    assert me.status_code == 200, me.text
    assert me.json()["owner"]["id"] == user
    assert me.json()["permissions"] == {"manage": "none", "completions": "write"}
    assert key.get(f"/v1/manage/apikey/{me.json()['id']}").json()["error"]["message"] == (
        "manage read permission required"
    )


def test_manage_read_key_reads_but_cannot_write(org: Org) -> None:
    reader = org.key(manage="read")
    assert reader.get("/v1/manage/apikey").status_code == 200
    before = _key_ids(org.admin)
    for method, path, body in (
        ("POST", "/v1/manage/apikey", {"name": "x"}),
        ("POST", f"/v1/manage/apikey/{next(iter(before))}/limit", {"monthly_limit": 1}),
        ("DELETE", f"/v1/manage/apikey/{next(iter(before))}", None),
    ):
        response = reader.request(method, path, json=body)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["message"] == "manage write permission required"
    assert _key_ids(org.admin) == before


def test_cannot_grant_manage_above_own_key(org: Org) -> None:
    user = org.user(role="admin")
    reader = org.key(user, manage="read")
    reader_id = reader.get("/v1/manage/apikey/self").json()["id"]
    before = _key_ids(org.admin)
    for method, path, body in (
        ("POST", "/v1/manage/apikey", {"name": "up", "permissions": {"manage": "write", "completions": "write"}}),
        ("PATCH", f"/v1/manage/apikey/{reader_id}", {"permissions": {"manage": "write"}}),
    ):
        refused = reader.request(method, path, json=body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["message"] == "manage write permission required"
    assert _key_ids(org.admin) == before
    assert reader.get("/v1/manage/apikey/self").json()["permissions"]["manage"] == "read"
    # A write key may hand out up to write, and lower a key.
    writer = org.key(user, manage="write")
    assert _create(writer, permissions={"manage": "write", "completions": "none"}).status_code == 200
    lowered = writer.patch(f"/v1/manage/apikey/{reader_id}", json={"permissions": {"manage": "none"}})
    assert lowered.status_code == 200 and lowered.json()["permissions"]["manage"] == "none"


def test_key_in_a_group_needs_the_owner_in_it(org: Org) -> None:
    eng = org.group()
    backend = org.group(parent_id=eng)
    member = org.user()
    org.add_member(backend, member)
    outsider = org.user()

    refused = _create(org.admin, owner_id=outsider, group_id=backend)
    assert refused.status_code == 409, refused.text
    assert "not a member" in refused.json()["error"]["message"]
    # Effective groups include ancestors: a Backend member's key may sit in Engineering.
    assert _create(org.admin, owner_id=member, group_id=eng).status_code == 200
    assert _create(org.admin, owner_id=member, group_id=backend).status_code == 200
    unknown = _create(org.admin, owner_id=member, group_id="no-such-group")
    assert unknown.status_code == 404
    assert "no-such-group" in unknown.json()["error"]["message"]
    # The caller's own keys follow the same rule.
    assert _create(org.admin, group_id=backend).status_code == 409


def test_key_in_an_expired_group_is_refused(org: Org, db: Database) -> None:
    group = org.group()
    member = org.user()
    org.add_member(group, member)
    with db.transaction() as session:
        session.execute(sa.update(Group).where(Group.id == group).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    refused = _create(org.admin, owner_id=member, group_id=group)
    assert refused.status_code == 409
    assert "expired" in refused.json()["error"]["message"]


def test_group_admin_makes_keys_only_within_their_scope(org: Org) -> None:
    eng = org.group()
    backend = org.group(parent_id=eng)
    sales = org.group()
    lead, dev = org.user(), org.user()
    org.add_member(eng, lead, "admin")
    org.add_member(backend, dev)
    org.add_member(sales, dev)
    lead_key = org.key(lead, manage="write")

    made = _create(lead_key, owner_id=dev, group_id=backend)
    assert made.status_code == 200, made.text
    dev_key_id = made.json()["api_key_id"]
    assert org.admin.get(f"/v1/manage/apikey/{dev_key_id}").json()["owner"]["id"] == dev
    outside = _create(lead_key, owner_id=dev, group_id=sales)
    assert outside.status_code == 403
    personal_for_other = _create(lead_key, owner_id=dev)
    assert personal_for_other.status_code == 403
    assert "owner_id" in personal_for_other.json()["error"]["message"]

    # The group admin sees and manages the keys of their subtree, and not a key of Sales.
    sales_key_id = _create(org.admin, owner_id=dev, group_id=sales).json()["api_key_id"]
    visible = _key_ids(lead_key)
    assert dev_key_id in visible and sales_key_id not in visible
    assert lead_key.post(f"/v1/manage/apikey/{dev_key_id}/limit", json={"monthly_limit": 5}).status_code == 204
    assert lead_key.get(f"/v1/manage/apikey/{sales_key_id}").status_code == 403
    assert lead_key.delete(f"/v1/manage/apikey/{sales_key_id}").status_code == 403


def test_members_see_and_make_only_their_own_keys(org: Org) -> None:
    alice, bob = org.user(), org.user()
    alice_key = org.key(alice, manage="write")
    bob_key_id = _create(org.admin, owner_id=bob).json()["api_key_id"]
    own = _create(alice_key)
    assert own.status_code == 200
    for_bob = _create(alice_key, owner_id=bob)
    assert for_bob.status_code == 403
    mine = _key_ids(alice_key)
    assert own.json()["api_key_id"] in mine and bob_key_id not in mine
    listed = alice_key.get("/v1/manage/apikey").json()["keys"]
    assert {k["owner"]["id"] for k in listed} == {alice}
    assert alice_key.get(f"/v1/manage/apikey/{bob_key_id}").status_code == 403
    assert alice_key.delete(f"/v1/manage/apikey/{bob_key_id}").status_code == 403
    assert bob_key_id in _key_ids(org.admin, owner_id=bob)


def test_deactivated_owner_and_unknown_owner(org: Org) -> None:
    gone = org.user()
    assert org.admin.post(f"/v1/manage/user/{gone}/deactivate").status_code == 200
    assert _create(org.admin, owner_id=gone).status_code == 409
    unknown = _create(org.admin, owner_id="no-such-user")
    assert unknown.status_code == 404 and "no-such-user" in unknown.json()["error"]["message"]


def test_another_orgs_key_is_not_found_everywhere(org: Org, new_org: Any) -> None:
    other = new_org("Other")
    foreign = other.admin.post("/v1/manage/apikey", json={"name": "theirs"}).json()["api_key_id"]
    for method, path, body in (
        ("GET", f"/v1/manage/apikey/{foreign}", None),
        ("PATCH", f"/v1/manage/apikey/{foreign}", {"name": "mine now"}),
        ("DELETE", f"/v1/manage/apikey/{foreign}", None),
        ("POST", f"/v1/manage/apikey/{foreign}/limit", {"monthly_limit": 1}),
        ("POST", f"/v1/manage/apikey/{foreign}/label", {"labels": {"a": "b"}}),
        ("POST", f"/v1/manage/apikey/{foreign}/expiry", {"expires_at": None}),
    ):
        response = org.admin.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["message"] == "api key not found"
    assert foreign not in _key_ids(org.admin, include_revoked="true")
    assert other.admin.get(f"/v1/manage/apikey/{foreign}").json()["name"] == "theirs"
    # Nor can a key be made for another org's user or in another org's group.
    their_user = other.user()
    their_group = other.group()
    assert _create(org.admin, owner_id=their_user).status_code == 404
    assert _create(org.admin, group_id=their_group).status_code == 404
    # Looked up before any rights are weighed: a member naming them learns nothing more.
    member_key = org.key(org.user(), manage="write")
    assert _create(member_key, owner_id=their_user, group_id=their_group).status_code == 404
    assert _create(member_key, owner_id=org.owner_id, group_id=their_group).status_code == 404


def test_restricted_access_list_is_for_org_admins(org: Org) -> None:
    open_list = org.admin.post("/v1/manage/access-list", json={"name": "open", "chat": ["mock/a"]}).json()["id"]
    closed = org.admin.post("/v1/manage/access-list", json={"name": "closed", "restricted": True}).json()["id"]
    member = org.user()
    member_key = org.key(member, manage="write")
    assert _create(member_key, access_list_id=open_list).status_code == 200
    refused = _create(member_key, access_list_id=closed)
    assert refused.status_code == 403 and "restricted" in refused.json()["error"]["message"]
    made = _create(org.admin, owner_id=member, access_list_id=closed)
    assert made.status_code == 200
    assert org.admin.get(f"/v1/manage/apikey/{made.json()['api_key_id']}").json()["access_list_id"] == closed


def test_bad_create_input_names_the_field_and_makes_nothing(org: Org) -> None:
    before = _key_ids(org.admin, include_revoked="true")
    cases: list[tuple[Any, str]] = [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"name": "k", "monthly_limit": "ten"}, "monthly_limit"),
        ({"name": "k", "monthly_limit": -3}, "monthly_limit"),
        ({"name": "k", "permissions": {"manage": "admin"}}, "permissions.manage"),
        ({"name": "k", "permissions": {"completions": "all"}}, "permissions.completions"),
        ({"name": "k", "permissions": "write"}, "permissions"),
        ({"name": "k", "labels": {"a": 1}}, "labels"),
        ({"name": "k", "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
        ({"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "k", "features": {"streaming": "off"}}, "features"),
        ({"name": "k", "logging": "on"}, "logging"),
        ({"name": "k", "owner_id": "x" * 65}, "owner_id"),
        ({"name": "k", "api_key": "cvy_chosen"}, "api_key"),
    ]
    for body, field in cases:
        response = org.admin.post("/v1/manage/apikey", json=body)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["origin"] == "router" and field in error["message"], (body, error)
    malformed = org.admin.post("/v1/manage/apikey", content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert _key_ids(org.admin, include_revoked="true") == before
