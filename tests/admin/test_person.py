"""A page per person, changing an org role within the caller's rights, and changing one's own password."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from covey.kit.db import Database
from tests.admin.conftest import PanelSession, give_password
from tests.conftest import Org
from tests.reports.usage_factory import key_id_of, usage, write


def _email(org: Org, user_id: str) -> str:
    return str(org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["email"])


def _signed_in(browser_for: Any, org: Org, db: Database, user_id: str) -> tuple[PanelSession, str]:
    panel: PanelSession = browser_for()
    password = give_password(db, user_id)
    assert panel.sign_in(_email(org, user_id), password).status_code == 303
    return panel, password


def test_a_person_page_shows_groups_by_path_keys_spend_and_role(
    owner_panel: PanelSession, org: Org, db: Database
) -> None:
    top = org.group("Engineering")
    backend = org.group("Backend", parent_id=top)
    person = org.user(name="Dana Person")
    org.add_member(backend, person, role="admin")
    api = org.key(person, group_id=backend, name="dana-backend")
    write(
        db,
        [
            usage(
                org_id=org.id,
                key_id=key_id_of(api),
                user_id=person,
                charged=[backend, top],
                at=datetime.now(UTC),
                cost=1_250_000_000,
            )
        ],
    )
    page = owner_panel.get(f"/admin/users/{person}")
    assert page.status_code == 200
    assert "Dana Person" in page.text
    assert "Engineering › Backend" in page.text
    assert re.search(rf'data-group-id="{top}".*?through a subgroup', page.text, re.S)
    assert "dana-backend" in page.text
    assert re.search(r"data-person-spend>\$1\.25<", page.text)
    assert f"/admin/requests?user_id={person}" in page.text
    # The owner may make them an admin, and back.
    assert re.findall(r"<option[^>]*>(\w+)</option>", page.text[page.text.index('id="role"') :]) == [
        "member",
        "admin",
        "owner",
    ]
    made = owner_panel.post(f"/admin/users/{person}/role", {"role": "admin"})
    assert made.status_code == 303
    assert org.admin.get(f"/v1/manage/user/{person}").json()["user"]["role"] == "admin"


def test_roles_change_only_within_the_callers_rights(browser_for: Any, org: Org, db: Database) -> None:
    admin, member = org.user(role="admin"), org.user()
    panel, _ = _signed_in(browser_for, org, db, admin)
    page = panel.get(f"/admin/users/{member}").text
    assert "<option>owner</option>" not in page and "<option selected>member</option>" in page
    assert panel.post(f"/admin/users/{member}/role", {"role": "owner"}).status_code == 303  # refused: a notice
    assert org.admin.get(f"/v1/manage/user/{member}").json()["user"]["role"] == "member"
    assert "Only an owner" in panel.get(f"/admin/users/{member}").text
    assert panel.post(f"/admin/users/{org.owner_id}/role", {"role": "member"}).status_code == 303
    assert org.admin.get(f"/v1/manage/user/{org.owner_id}").json()["user"]["role"] == "owner"
    assert panel.post(f"/admin/users/{member}/role", {"role": "boss"}).status_code == 303
    # A group admin sees their people's pages, but no role form.
    group = org.group("Runs")
    lead = org.user()
    org.add_member(group, lead, role="admin")
    org.add_member(group, member)
    lead_panel, _ = _signed_in(browser_for, org, db, lead)
    shown = lead_panel.get(f"/admin/users/{member}")
    assert shown.status_code == 200 and 'action="/admin/users/' not in shown.text.split('id="role"')[1]
    assert lead_panel.post(f"/admin/users/{member}/role", {"role": "admin"}).status_code == 303
    assert org.admin.get(f"/v1/manage/user/{member}").json()["user"]["role"] == "member"
    assert lead_panel.get(f"/admin/users/{admin}").status_code == 403


def test_a_member_changes_their_own_password(browser_for: Any, org: Org, db: Database) -> None:
    member = org.user()
    panel, old = _signed_in(browser_for, org, db, member)
    elsewhere: PanelSession = browser_for()
    assert elsewhere.sign_in(_email(org, member), old).status_code == 303
    new = "correct horse battery staple"
    wrong = panel.post("/admin/me/password", {"current_password": "nope", "new_password": new, "repeat_password": new})
    assert wrong.status_code == 303
    assert "not your current password" in panel.get("/admin/me").text
    short = panel.post("/admin/me/password", {"current_password": old, "new_password": "x", "repeat_password": "x"})
    assert short.status_code == 303
    assert "12" in panel.get("/admin/me").text
    changed = panel.post("/admin/me/password", {"current_password": old, "new_password": new, "repeat_password": new})
    assert changed.status_code == 303
    me = panel.get("/admin/me")
    assert me.status_code == 200 and "Changed your password" in me.text
    # The other browser is signed out; the old password no longer works, the new one does.
    assert elsewhere.get("/admin/me").status_code == 303
    assert browser_for().sign_in(_email(org, member), old).status_code != 303
    assert browser_for().sign_in(_email(org, member), new).status_code == 303
