from __future__ import annotations

import json
import os
import subprocess
import sys

from fastapi.testclient import TestClient

from covey.app import create_app
from covey.config import Settings
from covey.kit.db import Database
from covey.models import AuditEvent, Organization, User
from tests.cli.conftest import ok, ok_json, refused, runner_for


def test_init_json_twice_makes_two_organizations_whose_keys_work(empty_database: str) -> None:
    covey = runner_for(empty_database)
    first = ok_json(covey("init", "--json", "--org-name", "First", "--email", "boss@first.example"))
    second = ok_json(covey("init", "--json"))

    assert set(first) == {"org_id", "admin_email", "admin_password", "admin_api_key", "admin_api_key_id"}
    assert first["org_id"] != second["org_id"]
    assert first["admin_email"] == "boss@first.example"
    assert second["admin_email"] == "admin@example.com"
    assert first["admin_api_key"] != second["admin_api_key"]

    with TestClient(create_app(Settings(database_url=empty_database))) as client:
        for made in (first, second):
            response = client.get("/v1/manage/org", headers={"Authorization": f"Bearer {made['admin_api_key']}"})
            assert response.status_code == 200, response.text
            assert response.json()["id"] == made["org_id"]

    db = Database.connect(empty_database)
    with db.sessions() as session:
        orgs = {o.id: o.name for o in session.query(Organization)}
        owners = session.query(User).filter(User.role == "owner").all()
        actions = {(e.org_id, e.action) for e in session.query(AuditEvent)}
    db.dispose()
    assert orgs == {first["org_id"]: "First", second["org_id"]: "My Organization"}
    assert {o.org_id for o in owners} == set(orgs)
    assert all(o.password_hash and first["admin_password"] not in o.password_hash for o in owners)
    for org_id in orgs:
        assert {(org_id, "org.create"), (org_id, "user.create"), (org_id, "apikey.create")} <= actions


def test_init_prints_the_key_and_sign_in_for_people(empty_database: str) -> None:
    out = ok(runner_for(empty_database)("init", "--org-name", "Widgets Ltd")).stdout
    assert 'Created organization "Widgets Ltd"' in out
    assert "cvy_" in out
    assert "/admin/" in out
    assert "admin@example.com" in out


def test_init_with_a_bad_email_is_refused_and_creates_nothing(empty_database: str) -> None:
    message = refused(runner_for(empty_database)("init", "--email", "not-an-email"))
    assert "email" in message
    db = Database.connect(empty_database)
    with db.sessions() as session:
        assert session.query(Organization).count() == 0
    db.dispose()


def test_db_upgrade_and_current(empty_database: str) -> None:
    covey = runner_for(empty_database)
    assert "not migrated" in ok(covey("db", "current")).stdout
    assert "(head)" in ok(covey("db", "upgrade")).stdout
    assert ok(covey("db", "current")).stdout.strip().endswith("(head)")


def test_processes_started_together_on_a_new_database_all_succeed(empty_database: str) -> None:
    """Replicas starting at once must not trip over each other's migration."""
    env = {**os.environ, "COVEY_DATABASE_URL": empty_database}
    command = [sys.executable, "-m", "covey.cli", "init", "--json"]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in processes]
    for process, (_out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err.decode()
    org_ids = {json.loads(out)["org_id"] for out, _err in results}
    assert len(org_ids) == 4
