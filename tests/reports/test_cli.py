"""`covey report …` and `covey usage prune`, run for real against the suite's database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from covey.cli import app
from covey.kit.db import Database
from tests.conftest import Org
from tests.reports.usage_factory import company, usage, write


def _covey(database_url: str, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COVEY_DATABASE_URL": database_url})
    assert result.exit_code == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout


def test_report_commands_print_what_the_api_answers(org: Org, db: Database, database_url: str) -> None:
    c = company(org)
    at = datetime(2026, 8, 7, 10, tzinfo=UTC)
    member = c.dana_backend
    write(db, [usage(org_id=org.id, key_id=member.key_id, user_id=member.user_id, charged=c.charged(c.backend), at=at)])
    month = ["--org", org.id, "--month", "2026-08"]

    tree = json.loads(_covey(database_url, "report", "groups", *month, "--json"))
    assert tree == org.admin.get("/v1/manage/report/group-tree", params={"month": "2026-08"}).json()
    table = _covey(database_url, "report", "groups", *month)
    assert "Backend" in table and "0.000001" in table

    allocation = json.loads(_covey(database_url, "report", "allocation", *month, "--json"))
    assert allocation == org.admin.get("/v1/manage/report/allocation", params={"month": "2026-08"}).json()
    assert "Org total 2026-08: 0.000001 USD" in _covey(database_url, "report", "allocation", *month)

    found = json.loads(_covey(database_url, "report", "recommendations", "--org", org.id, "--json"))
    assert {r["kind"] for r in found["recommendations"]} >= {"no_group"}
    assert "[no_group]" in _covey(database_url, "report", "recommendations", "--org", org.id)


def test_usage_prune_drops_old_records(org: Org, db: Database, database_url: str) -> None:
    c = company(org)
    member = c.eve_personal
    old = datetime.now(UTC) - timedelta(days=100)
    write(db, [usage(org_id=org.id, key_id=member.key_id, user_id=member.user_id, charged=[], at=old)])
    assert _covey(database_url, "usage", "prune", "--days", "90", "--org", org.id).startswith("Deleted 1 ")
    assert _covey(database_url, "usage", "prune", "--days", "90", "--org", org.id).startswith("Deleted 0 ")
    result = CliRunner().invoke(app, ["usage", "prune"], env={"COVEY_DATABASE_URL": database_url})
    assert result.exit_code == 1 and "COVEY_USAGE_RETENTION_DAYS" in result.stderr
