"""CSV import: the whole file is checked first; a bad row applies nothing and is named by its line."""

from __future__ import annotations

import time
from typing import Any

import pytest

from covey.auth.caller import Caller
from covey.kit.db import Database
from covey.users.csv_import import CsvImportError, ImportSummary, import_users
from tests.conftest import Org


def _import(db: Database, org: Org, text: str, **options: Any) -> ImportSummary:
    with db.transaction() as session:
        return import_users(session, Caller.system(org.id, label="csv test"), text, **options)


def _users(org: Org) -> dict[str, dict[str, Any]]:
    body = org.admin.get("/v1/manage/user", params={"limit": 500}).json()
    return {u["email"]: u for u in body["users"]}


def _direct(org: Org, user_id: str) -> set[str]:
    return {g["name"] for g in org.admin.get(f"/v1/manage/user/{user_id}/groups").json()["direct"]}


def test_a_good_file_applies(db: Database, org: Org) -> None:
    existing = org.user("old@example.com", name="Old Name")
    engineering = org.group("Engineering")
    org.group("Backend Engineers", parent_id=engineering)
    org.group("Everyone", default=True)
    text = (
        "email,name,role,groups,monthly_limit\n"
        "ann@example.com,Ann Archer,admin,Engineering/Backend Engineers,25.50\n"
        'bob@example.com,"Baker, Bob",,Engineering; Engineering/Backend Engineers,\n'
        "OLD@example.com,New Name,,Engineering,0\n"
        "\n"
        "cy@example.com,,member,Everyone,\n"
    )
    summary = _import(db, org, text)
    assert summary.as_dict() == {
        "dry_run": False,
        "rows": 4,
        "created": 3,
        "updated": 1,
        "unchanged": 0,
        "groups_created": [],
        "memberships_added": 4,
    }
    users = _users(org)
    assert (users["ann@example.com"]["name"], users["ann@example.com"]["role"]) == ("Ann Archer", "admin")
    assert users["ann@example.com"]["monthly_limit"] == 25.5
    assert users["bob@example.com"]["name"] == "Baker, Bob"
    assert users["cy@example.com"]["name"] == "cy"
    assert users["old@example.com"]["id"] == existing and users["old@example.com"]["name"] == "New Name"
    assert _direct(org, users["ann@example.com"]["id"]) == {"Backend Engineers", "Everyone"}
    assert _direct(org, users["bob@example.com"]["id"]) == {"Engineering", "Backend Engineers", "Everyone"}
    assert _direct(org, existing) == {"Engineering"}  # default groups are for new users
    events = org.admin.get("/v1/manage/audit", params={"target_id": users["ann@example.com"]["id"]}).json()
    assert [e["action"] for e in events["events"]] == ["user.create"]

    again = _import(db, org, text)
    assert (len(again.created), len(again.updated), again.unchanged, again.memberships_added) == (0, 0, 4, 0)


def test_one_bad_row_applies_nothing_and_names_the_line(db: Database, org: Org) -> None:
    org.group("Engineering")
    before = _users(org)
    text = (
        "email,name,role,groups,monthly_limit\n"
        "good@example.com,Good,,Engineering,\n"
        "also-good@example.com,,,,\n"
        "not-an-email,Bad,,,\n"
    )
    with pytest.raises(CsvImportError) as refused:
        _import(db, org, text)
    assert [(p.line, p.message.split(":")[0]) for p in refused.value.problems] == [(4, "email 'not-an-email'")]
    assert "line 4" in refused.value.message
    assert _users(org) == before


def test_every_problem_is_named(db: Database, org: Org) -> None:
    text = (
        "email,name,role,groups,monthly_limit\n"
        "a@example.com,,boss,,\n"
        "b@example.com,,,Nowhere/Team,\n"
        "c@example.com,,,,-5\n"
        "B@example.com,,,,\n"
        "d@example.com,,,Eng//Ops,\n"
    )
    with pytest.raises(CsvImportError) as refused:
        _import(db, org, text)
    lines = {p.line: p.message for p in refused.value.problems}
    assert set(lines) == {2, 4, 5, 6}
    assert "boss" in lines[2] and "negative" in lines[4] and "line 3" in lines[5] and "empty name" in lines[6]
    # Group paths are looked up only once every row reads well.
    with pytest.raises(CsvImportError) as missing:
        _import(db, org, "email,groups\nb@example.com,Nowhere/Team\n")
    assert [(p.line, "does not exist" in p.message) for p in missing.value.problems] == [(2, True)]


def test_bad_columns_are_refused(db: Database, org: Org) -> None:
    for text, expected in (
        ("", "empty"),
        ("name,role\nAnn,member\n", "email column is required"),
        ("email,team\na@example.com,x\n", "unknown column 'team'"),
        ("email,name\na@example.com,Ann,extra\n", "more cells"),
    ):
        with pytest.raises(CsvImportError) as refused:
            _import(db, org, text)
        assert expected in refused.value.message


def test_dry_run_changes_nothing(db: Database, org: Org) -> None:
    before = _users(org)
    text = "email,name,groups\nnew@example.com,New,Sales/EMEA\n"
    summary = _import(db, org, text, dry_run=True, create_groups=True)
    assert summary.dry_run and summary.created == ["new@example.com"]
    assert summary.groups_created == ["Sales", "Sales/EMEA"] and summary.memberships_added == 1
    assert _users(org) == before
    assert org.admin.get("/v1/manage/group").json()["groups"] == []


def test_groups_are_created_on_request(db: Database, org: Org) -> None:
    progress: list[tuple[int, int]] = []
    text = "email,groups\nx@example.com,Sales/EMEA;Sales\ny@example.com,Sales/EMEA\n"
    summary = _import(db, org, text, create_groups=True, progress=lambda done, total: progress.append((done, total)))
    assert summary.groups_created == ["Sales", "Sales/EMEA"] and summary.memberships_added == 3
    # New users are created in batches; progress is reported after each batch and ends at the total.
    assert progress[-1] == (2, 2) and progress == sorted(progress)
    users = _users(org)
    assert _direct(org, users["x@example.com"]["id"]) == {"Sales", "EMEA"}
    tree = org.admin.get("/v1/manage/group/tree").json()
    assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree["tree"]] == [("Sales", ["EMEA"])]


def test_only_an_owner_makes_owners(db: Database, org: Org) -> None:
    admin_id = org.user("admin@example.com", role="admin")
    admin = Caller.system(org.id)
    scope = type(admin.scope)(user_id=admin_id, org_role="admin", memberships={}, parent_of={})
    as_admin = Caller(org_id=org.id, actor=admin.actor, scope=scope)
    with pytest.raises(CsvImportError) as refused, db.transaction() as session:
        import_users(session, as_admin, f"email,role\nboss@example.com,owner\n{org.owner_email},member\n")
    assert [p.line for p in refused.value.problems] == [2, 3]


def test_ten_thousand_users_import_in_one_go(db: Database, org: Org) -> None:
    """The suite's one large import (the slowest test here: every user is created, joined and audited
    one by one through the services): 10,000 rows, four new groups, a default group."""
    org.group("Everyone", default=True)
    rows = [f"user{i:05d}@bulk.example.com,User {i},member,Bulk/Team {i % 3},{i % 50}" for i in range(10_000)]
    text = "email,name,role,groups,monthly_limit\n" + "\n".join(rows) + "\n"
    ticks: list[int] = []
    started = time.perf_counter()
    summary = _import(db, org, text, create_groups=True, progress=lambda done, _total: ticks.append(done))
    elapsed = time.perf_counter() - started
    assert len(summary.created) == 10_000 and summary.memberships_added == 10_000
    assert summary.groups_created == ["Bulk", "Bulk/Team 0", "Bulk/Team 1", "Bulk/Team 2"]
    assert ticks[-1] == 10_000
    listed = org.admin.get("/v1/manage/user", params={"q": "bulk.example.com", "limit": 1}).json()
    assert listed["total"] == 10_000
    print(f"\n10,000-row CSV import: {elapsed:.1f} s")
