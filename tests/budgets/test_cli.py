"""`covey budgets …`: lines added and removed from the command line, audited, mistakes on stderr."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from covey.cli import app
from tests.conftest import Org


def covey(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COVEY_DATABASE_URL": database_url})


def test_add_list_remove(org: Org, database_url: str) -> None:
    org.group("Research")
    added = covey(
        database_url,
        "budgets",
        "add",
        "member",
        "25",
        "--owner",
        "Research",
        "--period",
        "week",
        "--soft",
        "--thresholds",
        "80,100",
        "--org",
        org.id,
        "--json",
    )
    assert added.exit_code == 0, added.output
    line = json.loads(added.stdout)["budget"]
    assert (line["owner_name"], line["period"], line["enforcement"], line["thresholds"]) == (
        "Research",
        "week",
        "soft",
        [80, 100],
    )
    listed = covey(database_url, "budgets", "list", "--org", org.id, "--json")
    assert line["id"] in [b["id"] for b in json.loads(listed.stdout)["budgets"]]
    removed = covey(database_url, "budgets", "remove", line["id"], "--org", org.id)
    assert removed.exit_code == 0
    actions = [
        e["action"] for e in org.admin.get("/v1/manage/audit", params={"target_id": line["id"]}).json()["events"]
    ]
    assert sorted(actions) == ["budget.create", "budget.delete"]


def test_mistakes_are_one_line_on_stderr(org: Org, database_url: str) -> None:
    for args in (
        ["budgets", "add", "group", "10", "--owner", "No Such Group"],
        ["budgets", "add", "org", "0"],
        ["budgets", "add", "org", "5", "--thresholds", "high"],
        ["budgets", "remove", "nope"],
    ):
        result = covey(database_url, *args, "--org", org.id)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: ")
        assert "Traceback" not in result.output
