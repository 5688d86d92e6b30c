"""`covey doctor` and `/v1/manage/doctor`: drift planted by the test is found, reported and repaired;
docs/design.md §3's invariant is checked."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import redis
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from covey.budgets.periods import period_key, zone
from covey.cli import app as cli
from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.models import UsageCharge, UsageRecord
from tests.conftest import Org

CENT = 10_000_000


def month() -> str:
    return period_key("month", utcnow(), zone("UTC"))


def plant_record(db: Database, org: Org, *, groups: list[str], cost: int) -> None:
    at = utcnow()
    with db.transaction() as session:
        record = UsageRecord(
            id=str(uuid.uuid4()),
            org_id=org.id,
            created_at=at,
            key_id="k",
            user_id=org.owner_id,
            group_id=groups[0] if groups else None,
            charged_groups=groups,
            endpoint="chat",
            model_requested="m",
            cost_nanos=cost,
            status=200,
        )
        session.add(record)
        session.flush()
        for depth, group in enumerate(groups):
            session.add(
                UsageCharge(
                    usage_id=record.id, group_id=group, org_id=org.id, created_at=at, cost_nanos=cost, depth=depth
                )
            )


def test_the_api_finds_and_repairs_drift(org: Org, db: Database, client: TestClient) -> None:
    runtime: Any = client.app_state["budgets"]
    asyncio.run(runtime.store.replace({f"org:{org.id}@{month()}": 123 * CENT}))
    team = org.group()
    plant_record(db, org, groups=[team, org.group()], cost=7 * CENT)  # a record no counter saw

    report = org.admin.get("/v1/manage/doctor").json()
    assert not report["healthy"]
    drifts = {d["counter"]: (d["expected"], d["actual"]) for d in report["drifts"]}
    assert drifts[f"org:{org.id}@{month()}"] == ("0.07", "1.23")
    assert drifts[f"group:{team}@{month()}"] == ("0.07", "0")
    assert [i["holds"] for i in report["invariants"]] == [True]

    repaired = org.admin.post("/v1/manage/doctor/repair").json()
    assert repaired["repaired"] and len(repaired["drifts"]) == len(drifts)
    again = org.admin.get("/v1/manage/doctor").json()
    assert again["healthy"] and again["drifts"] == []
    events = org.admin.get("/v1/manage/audit", params={"action": "budget.repair"}).json()
    assert len(events.get("events", events.get("items", []))) == 1


def test_the_invariant_is_reported_when_broken(org: Org, db: Database) -> None:
    # A record charged to a group without its charge rows: the org total no longer splits.
    plant_record(db, org, groups=[], cost=CENT)
    with db.transaction() as session:
        session.add(
            UsageRecord(
                id=str(uuid.uuid4()),
                org_id=org.id,
                created_at=utcnow(),
                key_id="k",
                user_id="u",
                group_id="g",
                charged_groups=["g"],
                endpoint="chat",
                model_requested="m",
                cost_nanos=CENT,
                status=200,
            )
        )
    invariant = org.admin.get("/v1/manage/doctor").json()["invariants"][0]
    assert (invariant["holds"], invariant["org_total"], invariant["personal_keys"]) == (False, "0.02", "0.01")


def test_members_may_not_run_the_doctor(org: Org) -> None:
    member = org.key(org.user(), manage="write")
    assert member.get("/v1/manage/doctor").status_code == 403
    assert member.post("/v1/manage/doctor/repair").status_code == 403


def test_the_command_finds_and_repairs_drift_in_redis(
    org: Org, db: Database, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    group = org.group()
    plant_record(db, org, groups=[group], cost=5 * CENT)
    env = {"COVEY_DATABASE_URL": database_url, "COVEY_REDIS_URL": redis_url, "COVEY_REDIS_PREFIX": redis_prefix}
    plain = redis.Redis.from_url(redis_url)
    try:
        counter = f"{redis_prefix}:c:group:{group}@{month()}"
        plain.set(counter, 9 * CENT)  # the planted drift

        found = CliRunner().invoke(cli, ["doctor", "--org", org.id], env=env)
        assert found.exit_code == 1, found.output
        assert f"DRIFT group:{group}@{month()}: counter 0.09, records 0.05" in found.stdout
        assert "Invariant holds" in found.stdout

        fixed = CliRunner().invoke(cli, ["doctor", "--org", org.id, "--repair"], env=env)
        assert fixed.exit_code == 0, fixed.output
        assert "(repaired)" in fixed.stdout
        assert int(plain.get(counter) or 0) == 5 * CENT

        clean = CliRunner().invoke(cli, ["doctor", "--org", org.id], env=env)
        assert clean.exit_code == 0, clean.output
        assert "No drift." in clean.stdout
    finally:
        plain.close()


def test_without_redis_the_command_checks_the_invariant_and_points_at_the_server(org: Org, database_url: str) -> None:
    result = CliRunner().invoke(cli, ["doctor", "--org", org.id], env={"COVEY_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "GET /v1/manage/doctor" in result.stdout
    assert "Invariant holds" in result.stdout
    assert "DRIFT" not in result.stdout
