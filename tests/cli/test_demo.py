from __future__ import annotations

from collections import Counter
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from covey.app import create_app
from covey.config import Settings
from covey.kit.db import Database
from covey.kit.money import from_nanos
from covey.models import ApiKey, Group, Membership, Organization, User
from covey.models.usage_record import UsageRecord
from tests.cli.conftest import ok, ok_json, runner_for


def _counts(database_url: str) -> dict[str, int]:
    db = Database.connect(database_url)
    with db.sessions() as session:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Organization, User, Group, Membership, ApiKey, UsageRecord)
        }
    db.dispose()
    return counts


def test_demo_seeds_acme_once_and_hands_out_fresh_credentials(empty_database: str) -> None:
    covey = runner_for(empty_database)
    first = ok_json(covey("demo", "--json"))
    seeded = _counts(empty_database)
    again = ok_json(covey("demo", "--json"))
    after = _counts(empty_database)

    assert set(first) == {"org_id", "admin_email", "admin_password", "admin_api_key", "admin_api_key_id"}
    assert again["org_id"] == first["org_id"]
    assert again["admin_email"] == first["admin_email"]
    assert again["admin_api_key"] != first["admin_api_key"]
    assert again["admin_password"] != first["admin_password"]
    # Nothing duplicated: only the fresh admin key is new.
    assert after == {**seeded, "ApiKey": seeded["ApiKey"] + 1}
    assert seeded["Organization"] == 1
    assert 25 <= seeded["User"] <= 35

    with TestClient(create_app(Settings(database_url=empty_database))) as client:
        for creds in (first, again):  # the earlier key keeps working
            headers = {"Authorization": f"Bearer {creds['admin_api_key']}"}
            assert client.get("/v1/manage/org", headers=headers).json()["name"] == "Acme Corp"
        headers = {"Authorization": f"Bearer {again['admin_api_key']}"}
        tree = client.get("/v1/manage/group/tree", headers=headers).json()["tree"]
        users = client.get("/v1/manage/user", params={"limit": 100}, headers=headers).json()["users"]
        keys = client.get("/v1/manage/apikey", headers=headers).json()["keys"]
        spend = client.get("/v1/manage/report/group-spend", headers=headers).json()["groups"]

    shape = {node["name"]: sorted(child["name"] for child in node["children"]) for node in tree}
    assert shape == {
        "All Staff": [],
        "Engineering": ["Backend Engineers", "DevOps Engineers", "Frontend Engineers"],
        "Marketing": ["Content Team", "Design Team"],
        "Sales": ["Sales Engineers", "Sales Reps"],
    }
    by_name = {node["name"]: node for node in tree}
    assert by_name["All Staff"]["default"] is True
    assert by_name["All Staff"]["members_count"] == len(users)
    assert by_name["Engineering"]["kind"] == "department"
    assert by_name["Engineering"]["monthly_budget"] == 100
    reps = next(c for c in by_name["Sales"]["children"] if c["name"] == "Sales Reps")
    assert reps["monthly_budget_per_user"] == 30
    assert all(node["description"] for node in tree)

    emails = {u["email"] for u in users}
    assert len(emails) == len(users) == seeded["User"]
    assert any(u["monthly_limit"] for u in users)

    db = Database.connect(empty_database)
    with db.sessions() as session:
        default_id = session.scalar(select(Group.id).where(Group.is_default.is_(True)))
        groups_per_user = Counter(
            m.user_id for m in session.scalars(select(Membership).where(Membership.group_id != default_id))
        )
        group_admins = session.scalar(select(func.count()).where(Membership.role == "admin"))
    db.dispose()
    assert max(groups_per_user.values()) == 2  # some people are in two groups
    assert group_admins and group_admins >= 3

    grouped = {k["group"]["id"] for k in keys if k["group"]}
    assert len(grouped) >= 3
    assert any(k["group"] is None and k["permissions"]["manage"] == "none" for k in keys)  # a personal key

    # A few weeks of past traffic, charged as the gateway charges it.
    db = Database.connect(empty_database)
    with db.sessions() as session:
        records = list(session.scalars(select(UsageRecord)))
        chain = {g.id: g.parent_id for g in session.scalars(select(Group))}
        key_groups = {k.id: k.group_id for k in session.scalars(select(ApiKey))}
    db.dispose()
    assert len({r.created_at.date() for r in records}) >= 14
    for r in records:
        group = key_groups[r.key_id]
        # Demo groups are at most two deep: a key's own group, then its parent if any.
        expected = [] if group is None else [group, *([chain[group]] if chain[group] else [])]
        assert r.group_id == group and r.charged_groups == expected
    engineering = next(g for g in spend if g["name"] == "Engineering")
    engineering_id = engineering["group_id"]
    charged = sum(r.cost_nanos for r in records if engineering_id in r.charged_groups)
    assert charged > 0
    assert sum(Decimal(m["spend"]) for m in engineering["months"]) == from_nanos(charged)


def test_demo_prints_where_to_go_next(empty_database: str) -> None:
    out = ok(runner_for(empty_database)("demo")).stdout
    assert "http://127.0.0.1:8080" in out
    assert "http://127.0.0.1:8080/admin/" in out
    assert "olivia.bennett@acme.example" in out
    assert "curl" in out and "/v1/manage/group" in out
