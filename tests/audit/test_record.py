"""What an audit event says about who made a change, for each kind of caller: Covey itself (bootstrap),
a person through their key, and a person through a key someone else made for them. Every change goes
through `audit.record`, which takes the org and the actor from the caller."""

from __future__ import annotations

from typing import Any

from covey.kit.db import Database
from covey.models import AuditEvent, in_org
from tests.conftest import Org


def _events(org: Org, **params: Any) -> list[dict[str, Any]]:
    response = org.admin.get("/v1/manage/audit", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def test_bootstrap_is_recorded_as_covey_itself(org: Org, db: Database) -> None:
    (created,) = _events(org, action="org.create")
    assert (created["actor_kind"], created["actor_id"], created["actor_label"], created["via_key_id"]) == (
        "system",
        None,
        "covey init",
        None,
    )
    assert (created["target_type"], created["target_id"], created["before"]) == ("org", org.id, None)
    assert created["after"]["name"] == "Test Org"
    (owner,) = _events(org, action="user.create")
    assert (owner["actor_kind"], owner["actor_label"], owner["target_id"]) == ("system", "covey init", org.owner_id)
    with db.sessions() as session:
        rows = session.scalars(in_org(AuditEvent, org.id).where(AuditEvent.action == "org.create")).all()
    assert [r.org_id for r in rows] == [org.id]


def test_a_change_through_a_key_names_its_owner_and_the_key(org: Org) -> None:
    key_id = org.admin.get("/v1/manage/apikey/self").json()["id"]
    group = org.group("Research")
    assert org.admin.patch(f"/v1/manage/group/{group}", json={"name": "Research Lab"}).status_code == 200
    (made,) = _events(org, action="group.create", target_id=group)
    (renamed,) = _events(org, action="group.update", target_id=group)
    for event in (made, renamed):
        assert (event["actor_kind"], event["actor_id"], event["actor_label"], event["via_key_id"]) == (
            "user",
            org.owner_id,
            org.owner_email,
            key_id,
        )
        assert event["target_type"] == "group"
    assert made["before"] is None and made["after"]["name"] == "Research"
    assert (renamed["before"]["name"], renamed["after"]["name"]) == ("Research", "Research Lab")


def test_a_change_through_a_key_made_for_someone_else_names_both(org: Org) -> None:
    teammate = org.user(role="admin")
    api = org.key(teammate, manage="write")
    group = api.post("/v1/manage/group", json={"name": "Made by a teammate"}).json()["group"]["id"]
    (made,) = _events(org, action="group.create", target_id=group)
    assert (made["actor_kind"], made["actor_id"]) == ("user", teammate)
    assert made["actor_label"].endswith(f"(key made by {org.owner_email})")


def test_a_time_without_a_zone_is_read_as_utc(org: Org) -> None:
    org.group("Dated")
    before = org.admin.get("/v1/manage/audit", params={"since": "2000-01-01T00:00:00"})
    assert before.status_code == 200, before.text
    assert any(e["action"] == "group.create" for e in before.json()["events"])
    after = org.admin.get("/v1/manage/audit", params={"since": "2999-01-01T00:00:00"})
    assert after.status_code == 200 and after.json()["events"] == []
