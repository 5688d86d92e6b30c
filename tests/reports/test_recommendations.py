"""Recommendations, each with the figures behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from covey.kit.db import Database
from covey.models import Membership
from tests.conftest import Org
from tests.reports.usage_factory import Member, company, key_id_of, month_start, usage, write


def _by_kind(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in body["recommendations"] if r["kind"] == kind]


def test_recommendations_name_their_figures(org: Org, db: Database) -> None:
    c = company(org)
    at = month_start()
    zed = org.user()
    org.add_member(c.backend, zed)
    zed_api = org.key(zed, manage="read", group_id=c.backend)
    zed_key = Member(user_id=zed, api=zed_api, key_id=key_id_of(zed_api))
    idle, lapsed = org.user(), org.user()
    org.add_member(c.frontend, idle)
    org.add_member(c.frontend, lapsed)
    with db.transaction() as session:
        session.execute(
            update(Membership)
            .where(Membership.user_id.in_([idle, lapsed]))
            .values(added_at=datetime.now(UTC) - timedelta(days=200))
        )
    lapsed_at = datetime.now(UTC) - timedelta(days=100)
    write(db, [usage(org_id=org.id, key_id="k-old", user_id=lapsed, charged=c.charged(c.frontend), at=lapsed_at)])

    def spend(member: Member, group: str | None, model: str, cost: int) -> dict[str, Any]:
        return usage(
            org_id=org.id,
            key_id=member.key_id,
            user_id=member.user_id,
            charged=c.charged(group),
            at=at,
            model=model,
            cost=cost,
        )

    write(
        db,
        [
            spend(c.dana_backend, c.backend, "mock/gpt-4o", 150_000_000_000),  # $150: Engineering's budget is $100
            spend(zed_key, c.backend, "mock/claude-sonnet", 1_000_000),
            spend(c.sam_sales, c.sales, "mock/claude-sonnet", 5_000_000),
            spend(c.sam_sales, c.sales, "mock/claude-sonnet", 5_000_000),
            spend(c.sam_sales, c.sales, "mock/gpt-4o-mini", 1_000),
        ],
    )
    made = org.admin.post("/v1/manage/access-list", json={"name": f"minis-{c.sales[:6]}", "chat": ["mock/gpt-4o-mini"]})
    assert made.status_code == 200, made.text
    attached = org.admin.patch(f"/v1/manage/group/{c.sales}", json={"access_list_id": made.json()["id"]})
    assert attached.status_code == 200, attached.text

    body = org.admin.get("/v1/manage/recommendations").json()

    inactive = {r["user_id"]: r for r in _by_kind(body, "inactive_member")}
    assert set(inactive) == {idle, lapsed}
    assert {r["group_id"] for r in inactive.values()} == {c.frontend}
    assert inactive[idle]["figures"]["last_active_month"] is None
    assert inactive[lapsed]["figures"]["last_active_month"] == lapsed_at.strftime("%Y-%m")

    assert {r["user_id"] for r in _by_kind(body, "no_group")} >= {c.eve_personal.user_id, org.owner_id}

    over = {r["group_id"]: r for r in _by_kind(body, "over_budget")}
    assert set(over) == {c.engineering}
    assert over[c.engineering]["figures"]["month_to_date"] == "150.001"
    assert over[c.engineering]["figures"]["monthly_budget"] == "100"

    (dropped,) = _by_kind(body, "model_dropped")
    assert dropped["group_id"] == c.sales
    assert dropped["figures"]["model"] == "mock/claude-sonnet"
    assert dropped["figures"]["requests"] == 2 and dropped["figures"]["group_requests"] == 3

    better = {r["user_id"]: r for r in _by_kind(body, "better_group")}
    assert better[zed]["group_id"] == c.sales
    assert better[zed]["figures"]["similarity_to_suggested"] >= 0.8
    assert c.dana_backend.user_id not in better

    csv = org.admin.get("/v1/manage/recommendations", params={"format": "csv"})
    assert csv.status_code == 200 and csv.text.count("\n") == len(body["recommendations"]) + 1


def test_a_group_admin_sees_recommendations_about_their_groups_only(org: Org, db: Database) -> None:
    c = company(org)
    write(
        db,
        [
            usage(
                org_id=org.id,
                key_id=c.dana_backend.key_id,
                user_id=c.dana_backend.user_id,
                charged=c.charged(c.backend),
                at=month_start(),
                cost=150_000_000_000,
            )
        ],
    )
    lead = org.user()
    org.add_member(c.sales, lead, role="admin")
    body = org.key(lead, manage="read").get("/v1/manage/recommendations").json()
    assert all(r["group_id"] in (c.sales, None) for r in body["recommendations"])
    assert _by_kind(body, "no_group") == []
    assert _by_kind(body, "over_budget") == []


def test_messages_name_groups_by_path_where_names_repeat(org: Org, db: Database) -> None:
    left, right = org.group("Left"), org.group("Right")
    left_team, right_team = org.group("Team", parent_id=left), org.group("Team", parent_id=right)
    first, second = org.user(), org.user()
    org.add_member(left_team, first)
    org.add_member(right_team, second)
    with db.transaction() as session:
        session.execute(
            update(Membership)
            .where(Membership.user_id.in_([first, second]))
            .values(added_at=datetime.now(UTC) - timedelta(days=90))
        )
    body = org.admin.get("/v1/manage/recommendations").json()
    inactive = {r["group_id"]: r["message"] for r in _by_kind(body, "inactive_member")}
    assert inactive[left_team].endswith('review their membership of "Left › Team"')
    assert inactive[right_team].endswith('review their membership of "Right › Team"')
    assert set(_by_kind(body, "inactive_member")[0]) == {"kind", "message", "group_id", "user_id", "figures"}
