from __future__ import annotations

import uuid
from typing import Any

from covey.kit.db import Database
from covey.models import AccessList
from tests.conftest import Org
from tests.groups.acting import GROUPS, as_user, audit_events, error_message


def _access_list(db: Database, org: Org, *, restricted: bool) -> str:
    with db.transaction() as session:
        made = AccessList(org_id=org.id, name=f"list-{uuid.uuid4().hex[:8]}", restricted=restricted)
        session.add(made)
        session.flush()
        return made.id


def test_every_change_writes_one_audit_event(org: Org) -> None:
    parent = org.group("Parent")
    first, second, third = org.user(), org.user(), org.user()

    def one_more(action: str, call: Any, target: str = parent) -> dict[str, Any]:
        before = len(audit_events(org, target))
        response = call()
        assert response.status_code in (200, 204), response.text
        events = audit_events(org, target)
        assert len(events) == before + 1, (action, events)
        event = events[0]
        assert event["action"] == action and event["target_type"] == "group" and event["target_id"] == target
        assert event["actor_id"] == org.owner_id
        return event

    created = org.admin.post(GROUPS, json={"name": "Child", "parent_id": parent, "monthly_limit": "0.10"})
    child = created.json()["group_id"]
    (create_event,) = audit_events(org, child)
    assert create_event["action"] == "group.create" and create_event["before"] is None
    assert create_event["after"]["parent_id"] == parent and create_event["after"]["monthly_budget_per_user"] == "0.1"

    update = one_more("group.update", lambda: org.admin.patch(f"{GROUPS}/{parent}", json={"kind": "project"}))
    assert update["before"]["kind"] == "custom" and update["after"]["kind"] == "project"
    add = one_more(
        "group.member.add",
        lambda: org.admin.post(f"{GROUPS}/{parent}/member", json={"user_id": first, "role": "member"}),
    )
    assert add["after"] == {"group_id": parent, "user_id": first, "role": "member"}
    role = one_more(
        "group.member.role", lambda: org.admin.put(f"{GROUPS}/{parent}/member/{first}/role", json={"role": "admin"})
    )
    assert role["before"]["role"] == "member" and role["after"]["role"] == "admin"
    remove = one_more("group.member.remove", lambda: org.admin.delete(f"{GROUPS}/{parent}/member/{first}"))
    assert remove["before"] == {"group_id": parent, "user_id": first, "role": "admin"} and remove["after"] is None
    one_more("group.member.add", lambda: org.admin.post(f"{GROUPS}/{parent}/members", json={"user_ids": [second]}))
    org.add_member(parent, third)
    move = one_more(
        "group.member.move",
        lambda: org.admin.post(f"{GROUPS}/{parent}/member/{third}/move", json={"to_group_id": child}),
    )
    assert move["after"]["group_id"] == child
    delete = one_more("group.delete", lambda: org.admin.delete(f"{GROUPS}/{child}"), target=child)
    assert delete["before"]["name"] == "Child" and delete["after"] is None

    # Requests that change nothing leave no event.
    quiet = len(audit_events(org, parent))
    assert org.admin.patch(f"{GROUPS}/{parent}", json={"kind": "project"}).status_code == 200
    assert org.admin.put(f"{GROUPS}/{parent}/member/{second}/role", json={"role": "member"}).status_code == 200
    assert org.admin.post(f"{GROUPS}/{parent}/members", json={"user_ids": [second]}).json()["added"] == []
    assert len(audit_events(org, parent)) == quiet


def test_group_changes_are_visible_to_the_audit_filters(org: Org) -> None:
    group = org.group("Filtered")
    response = org.admin.get("/v1/manage/audit", params={"action": "group.create", "target_id": group})
    assert response.json()["total"] == 1


def test_access_lists_must_be_the_orgs_own(org: Org, new_org: Any, db: Database) -> None:
    other = new_org("Neighbours")
    theirs = _access_list(db, other, restricted=False)
    mine = _access_list(db, org, restricted=False)
    refused = org.admin.post(GROUPS, json={"name": "Borrower", "access_list_id": theirs})
    assert refused.status_code == 404 and theirs in error_message(refused)
    made = org.admin.post(GROUPS, json={"name": "Owner", "access_list_id": mine})
    assert made.status_code == 200 and made.json()["group"]["access_list_id"] == mine
    group = made.json()["group_id"]
    assert org.admin.patch(f"{GROUPS}/{group}", json={"access_list_id": theirs}).status_code == 404
    cleared = org.admin.patch(f"{GROUPS}/{group}", json={"access_list_id": None})
    assert cleared.status_code == 200 and cleared.json()["group"]["access_list_id"] is None


def test_only_org_admins_attach_or_detach_restricted_lists(org: Org, db: Database) -> None:
    restricted = _access_list(db, org, restricted=True)
    open_list = _access_list(db, org, restricted=False)
    team = org.group("Team")
    sub = org.group("Sub", parent_id=team)
    admin_id, group_admin = as_user(org)
    org.add_member(team, admin_id, role="admin")

    attach = group_admin.patch(f"{GROUPS}/{sub}", json={"access_list_id": restricted})
    assert attach.status_code == 403 and "restricted" in error_message(attach)
    create = group_admin.post(GROUPS, json={"name": "Sub2", "parent_id": team, "access_list_id": restricted})
    assert create.status_code == 403
    assert group_admin.patch(f"{GROUPS}/{sub}", json={"access_list_id": open_list}).status_code == 200

    assert org.admin.patch(f"{GROUPS}/{sub}", json={"access_list_id": restricted}).status_code == 200
    detach = group_admin.patch(f"{GROUPS}/{sub}", json={"access_list_id": None})
    assert detach.status_code == 403
    swap = group_admin.patch(f"{GROUPS}/{sub}", json={"access_list_id": open_list})
    assert swap.status_code == 403
    assert org.admin.get(f"{GROUPS}/{sub}").json()["group"]["access_list_id"] == restricted
    # Other settings of the group stay theirs to change.
    assert group_admin.patch(f"{GROUPS}/{sub}", json={"description": "still mine"}).status_code == 200
