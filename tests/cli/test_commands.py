from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from covey.kit.db import Database
from covey.models import ApiKey, AuditEvent, Group, Membership, User
from tests.cli.conftest import Covey, ok, ok_json, refused, runner_for

BACKEND = "Engineering/Backend Engineers"
DEVOPS = "Engineering/DevOps Engineers"


@pytest.fixture(scope="module")
def acme(module_database: str) -> dict[str, Any]:
    """A database holding only the demo organization."""
    return dict(ok_json(runner_for(module_database)("demo", "--json")), database_url=module_database)


@pytest.fixture(scope="module")
def covey(acme: dict[str, Any]) -> Covey:
    return runner_for(acme["database_url"])


@pytest.fixture(scope="module")
def db(acme: dict[str, Any]) -> Iterator[Database]:
    database = Database.connect(acme["database_url"])
    yield database
    database.dispose()


def _events(db: Database, action: str, target_id: str) -> list[AuditEvent]:
    with db.sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == target_id))
        )


def _by_cli(events: list[AuditEvent]) -> bool:
    return len(events) == 1 and events[0].actor_kind == "system" and events[0].actor_label == "covey cli"


def test_users_create_list_deactivate(covey: Covey, db: Database) -> None:
    made = ok_json(
        covey("users", "create", "new.hire@acme.example", "--name", "New Hire", "--monthly-limit", "12.5", "--json")
    )
    user_id = made["user_id"]
    assert made["user"]["monthly_limit"] == 12.5
    assert _by_cli(_events(db, "user.create", user_id))

    listed = ok_json(covey("users", "list", "--search", "new.hire", "--json"))["users"]
    assert [u["id"] for u in listed] == [user_id]
    assert "new.hire@acme.example" in ok(covey("users", "list")).stdout
    everyone = ok_json(covey("users", "list", "--json"))["users"]
    assert len(everyone) >= 31

    ok(covey("users", "deactivate", "new.hire@acme.example"))
    with db.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None and user.status == "deactivated"
    assert _by_cli(_events(db, "user.deactivate", user_id))
    assert ok_json(covey("users", "list", "--status", "deactivated", "--json"))["users"][0]["id"] == user_id


def test_groups_create_add_member_move_and_tree(covey: Covey, db: Database) -> None:
    group_id = ok_json(
        covey("groups", "create", "Data Platform", "--parent", "Engineering", "--kind", "project", "--json")
    )["group_id"]
    assert _by_cli(_events(db, "group.create", group_id))

    ok(covey("groups", "add-member", "Engineering/Data Platform", "lukas.schneider@acme.example", "--role", "admin"))
    lukas = ok_json(covey("users", "list", "--search", "lukas", "--json"))["users"][0]["id"]
    with db.sessions() as session:
        membership = session.get(Membership, (group_id, lukas))
        assert membership is not None and membership.role == "admin"
    assert len(_events(db, "group.member.add", group_id)) == 1

    ok(covey("groups", "move", BACKEND, "aisha.mohammed@acme.example", "--to", "Engineering/Data Platform"))
    aisha = ok_json(covey("users", "list", "--search", "aisha", "--json"))["users"][0]["id"]
    with db.sessions() as session:
        groups = set(session.scalars(select(Membership.group_id).where(Membership.user_id == aisha)))
    assert group_id in groups
    backend = {g["path"]: g["id"] for g in ok_json(covey("groups", "list", "--json"))["groups"]}[BACKEND]
    assert backend not in groups
    assert len(_events(db, "group.member.move", backend)) == 1

    tree = ok_json(covey("groups", "tree", "--json"))["tree"]
    engineering = next(n for n in tree if n["name"] == "Engineering")
    platform = next(n for n in engineering["children"] if n["name"] == "Data Platform")
    assert platform["members_count"] == 2
    shown = ok_json(covey("groups", "show", "engineering/data platform", "--json"))["group"]
    assert {m["email"]: m["role"] for m in shown["members"]} == {
        "lukas.schneider@acme.example": "admin",
        "aisha.mohammed@acme.example": "member",
    }
    assert "aisha.mohammed@acme.example" in ok(covey("groups", "show", group_id)).stdout

    ok(covey("groups", "remove-member", group_id, "aisha.mohammed@acme.example"))
    with db.sessions() as session:
        assert session.get(Membership, (group_id, aisha)) is None
    assert len(_events(db, "group.member.remove", group_id)) == 1
    ok(covey("groups", "add-member", group_id, aisha))

    drawn = ok(covey("groups", "tree")).stdout
    assert "└─ Sales Reps" in drawn or "├─ Sales Reps" in drawn
    assert "Data Platform  (project; 2 members)" in drawn


def test_keys_create_list_revoke(covey: Covey, db: Database) -> None:
    made = ok_json(
        covey("keys", "create", "ci-pipeline", "--owner", "priya.raman@acme.example", "--group", BACKEND, "--json")
    )
    assert made["api_key"].startswith("cvy_")
    assert _by_cli(_events(db, "apikey.create", made["api_key_id"]))

    listed = ok_json(covey("keys", "list", "--group", BACKEND, "--json"))["keys"]
    assert made["api_key_id"] in {k["id"] for k in listed}
    assert made["api_key"] not in ok(covey("keys", "list")).stdout

    personal = ok_json(covey("keys", "create", "owner-scripts", "--manage", "read", "--json"))
    with db.sessions() as session:
        key = session.get(ApiKey, personal["api_key_id"])
        assert key is not None and key.group_id is None and key.manage == "read"

    ok(covey("keys", "revoke", made["api_key_id"]))
    with db.sessions() as session:
        key = session.get(ApiKey, made["api_key_id"])
        assert key is not None and key.revoked_at is not None
    assert _by_cli(_events(db, "apikey.revoke", made["api_key_id"]))
    assert made["api_key_id"] not in {k["id"] for k in ok_json(covey("keys", "list", "--json"))["keys"]}


def test_user_mistakes_are_one_line_and_change_nothing(covey: Covey, db: Database, acme: dict[str, Any]) -> None:
    with db.sessions() as session:
        before = session.query(AuditEvent).count()

    assert "already exists" in refused(covey("users", "create", "priya.raman@acme.example"))
    message = refused(covey("users", "list", "--org", "no-such-org"))
    assert "no-such-org" in message and acme["org_id"] in message
    assert "not a valid email" in refused(covey("users", "create", "not-an-email"))
    assert "monthly_limit" in refused(covey("users", "create", "x@acme.example", "--monthly-limit", "lots"))
    assert "no group Nowhere" in refused(covey("groups", "add-member", "Nowhere", "priya.raman@acme.example"))
    assert "no user" in refused(covey("groups", "add-member", DEVOPS, "nobody@acme.example"))
    assert "already a member" in refused(covey("groups", "move", BACKEND, "daniel.kim@acme.example", "--to", DEVOPS))
    assert "already exists" in refused(covey("groups", "create", "Engineering"))
    assert "not found" in refused(covey("keys", "revoke", "0000"))
    assert "not a member" in refused(
        covey("keys", "create", "x", "--owner", "tom.becker@acme.example", "--group", BACKEND)
    )

    with db.sessions() as session:
        assert session.query(AuditEvent).count() == before


def test_several_organizations_need_an_org_and_name_the_choices(empty_database: str) -> None:
    covey = runner_for(empty_database)
    assert "covey init" in refused(covey("users", "list"))  # not even migrated: says what to run
    first = ok_json(covey("init", "--json"))["org_id"]
    assert ok_json(covey("users", "list", "--json"))["users"][0]["email"] == "admin@example.com"
    second = ok_json(covey("init", "--json", "--email", "other@example.com"))["org_id"]

    listed_orgs = ok_json(covey("orgs", "list", "--json"))["orgs"]
    assert [o["id"] for o in listed_orgs] == [first, second]
    message = refused(covey("users", "list"))
    assert "--org" in message and first in message and second in message
    listed = ok_json(covey("users", "list", "--org", second, "--json"))["users"]
    assert [u["email"] for u in listed] == ["other@example.com"]
    # The same email may exist in two organizations: one database, separate tenants.
    ok(covey("users", "create", "same@example.com", "--org", first))
    ok(covey("users", "create", "same@example.com", "--org", second))


def test_limits_set_on_a_key_a_group_its_members_a_member_and_the_org(covey: Covey, db: Database) -> None:
    made = covey("keys", "create", "limited", "--owner", "priya.raman@acme.example", "--group", BACKEND, "--json")
    key_id = ok_json(made)["api_key_id"]
    assert ok_json(covey("limits", "set", f"key:{key_id}", "--rpm", "5", "--concurrent", "2", "--json")) == {
        "rate_limits": {"requests_per_minute": 5, "tokens_per_minute": None, "concurrent": 2},
        "guardrails": {},
    }
    group = ok_json(covey("limits", "set", f"group:{BACKEND}", "--tpm", "100000", "--guardrail", "pii=mask", "--json"))
    assert group["rate_limits"]["tokens_per_minute"] == 100000 and group["guardrails"] == {"pii": "mask"}
    members = ok_json(covey("limits", "set", f"members:{BACKEND}", "--rpm", "30", "--json"))
    assert members["rate_limits_per_member"]["requests_per_minute"] == 30
    with db.sessions() as session:
        member = session.scalars(select(Membership)).first()
        assert member is not None
        group_id, user_id = member.group_id, member.user_id
    assert ok_json(covey("limits", "set", f"member:{group_id}:{user_id}", "--rpm", "3", "--json")) == {"rate_limit": 3}
    org = ok_json(covey("limits", "set", "org", "--rpm", "1000", "--guardrail", "secrets=block", "--json"))
    assert org["rate_limits"]["requests_per_minute"] == 1000 and org["guardrails"]["secrets"] == "block"
    assert (
        ok_json(covey("limits", "set", f"key:{key_id}", "--rpm", "0", "--json"))["rate_limits"]["requests_per_minute"]
        is None
    )
    assert _events(db, "apikey.update", key_id)
    refused(covey("limits", "set", "org", "--guardrail", "pii=maybe"))
    refused(covey("limits", "set", "nowhere:1", "--rpm", "1"))
    refused(covey("limits", "set", "org"))


def test_sso_set_show_change_one_field_and_remove(covey: Covey, db: Database) -> None:
    refused(covey("sso", "show"))
    assert "--issuer and --client-id" in refused(covey("sso", "set", "--label", "Okta"))
    made = ok_json(
        covey(
            "sso", "set", "--issuer", "https://idp.acme.example", "--client-id", "covey",
            "--secret-env", "COVEY_SSO_SECRET_ACME", "--domain", "acme.example", "--map", f"eng-backend={BACKEND}",
            "--json",
        )
    )["sso"]  # fmt: skip
    with db.sessions() as session:
        backend = session.scalar(select(Group.id).where(Group.name == "Backend Engineers"))
    assert made["issuer"] == "https://idp.acme.example" and made["client_secret_env"] == "COVEY_SSO_SECRET_ACME"
    assert made["allowed_domains"] == ["acme.example"] and made["group_mapping"] == {"eng-backend": backend}
    assert made["password_sign_in"] is True
    # One field at a time: the rest is kept.
    changed = ok_json(covey("sso", "set", "--no-password-sign-in", "--label", "Okta", "--json"))["sso"]
    assert changed["password_sign_in"] is False and changed["label"] == "Okta"
    assert changed["issuer"] == made["issuer"] and changed["group_mapping"] == made["group_mapping"]
    assert "Password sign-in:" in ok(covey("sso", "show")).stdout
    assert "https" in refused(covey("sso", "set", "--issuer", "http://idp.acme.example"))
    refused(covey("sso", "set", "--map", "x=No/Such/Group"))
    refused(covey("sso", "set", "--secret-env", "HOME"))
    assert ok_json(covey("sso", "show", "--json"))["sso"]["label"] == "Okta"  # the mistakes changed nothing
    with db.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("org.sso.%"))))
    assert actions == {"org.sso.create", "org.sso.update"}
    assert "passwords" in ok(covey("sso", "remove")).stdout
    refused(covey("sso", "show"))
