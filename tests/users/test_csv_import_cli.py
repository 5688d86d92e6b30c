"""`covey users import FILE.csv`: a dry run first, a progress bar, a summary; a bad file exits 1 naming the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from covey.kit.db import Database
from tests.cli.conftest import runner_for
from tests.conftest import Org


def _users(org: Org) -> dict[str, dict[str, Any]]:
    body = org.admin.get("/v1/manage/user", params={"limit": 500}).json()
    return {u["email"]: u for u in body["users"]}


def _direct(org: Org, user_id: str) -> set[str]:
    return {g["name"] for g in org.admin.get(f"/v1/manage/user/{user_id}/groups").json()["direct"]}


def test_the_cli_imports_with_a_dry_run_first(db: Database, org: Org, database_url: str, tmp_path: Path) -> None:
    covey = runner_for(database_url)
    path = tmp_path / "people.csv"
    path.write_text("email,name,role,groups,monthly_limit\ncli@example.com,Cli User,member,Ops,10\n")
    dry = covey("users", "import", str(path), "--org", org.id, "--dry-run", "--create-groups", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert '"created": 1' in dry.stdout and "cli@example.com" not in _users(org)

    done = covey("users", "import", str(path), "--org", org.id, "--create-groups")
    assert done.exit_code == 0, done.stderr
    assert "Created 1" in done.stdout
    assert _direct(org, _users(org)["cli@example.com"]["id"]) == {"Ops"}

    path.write_text("email,role\nok@example.com,member\nbad@example.com,king\n")
    bad = covey("users", "import", str(path), "--org", org.id)
    assert bad.exit_code == 1 and "line 3" in bad.stderr and "Traceback" not in bad.output
    assert "ok@example.com" not in _users(org)
