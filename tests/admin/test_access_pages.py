"""Access lists in the panel: made, edited, assigned to groups and keys, taken off, deleted; the demo has one."""

from __future__ import annotations

from typing import Any

from covey.access import repository as access_repo
from covey.demo.seed import seed
from covey.kit.db import Database
from tests.admin.conftest import PanelSession, give_password
from tests.conftest import Org


def _notice(panel: PanelSession, response: Any) -> str:
    assert response.status_code == 303, response.text
    text = panel.get(response.headers["location"]).text
    return text.split('class="notice', 1)[1].split("</div>", 1)[0] if 'class="notice' in text else ""


def test_make_edit_assign_and_delete_an_access_list(owner_panel: PanelSession, org: Org) -> None:
    made = owner_panel.post(
        "/admin/access", {"name": "Approved", "chat": "mock/gpt-4o-mini\nmock/gpt-4o, mock/gpt-4o-mini\n\n"}
    )
    list_id = made.headers["location"].rsplit("/", 1)[1]
    assert "Created the access list Approved." in _notice(owner_panel, made)
    got = org.admin.get(f"/v1/manage/access-list/{list_id}").json()["access_list"]
    assert got["chat"] == ["mock/gpt-4o-mini", "mock/gpt-4o"] and got["restricted"] is False

    saved = owner_panel.post(
        f"/admin/access/{list_id}",
        {
            "name": "Approved chat",
            "chat": "mock/gpt-4o",
            "embedding": "mock/text-embedding-3-small",
            "restricted": "true",
        },
    )
    assert "Saved the access list Approved chat." in _notice(owner_panel, saved)
    got = org.admin.get(f"/v1/manage/access-list/{list_id}").json()["access_list"]
    assert (got["name"], got["chat"], got["embedding"], got["restricted"]) == (
        "Approved chat",
        ["mock/gpt-4o"],
        ["mock/text-embedding-3-small"],
        True,
    )

    parent = org.group("Research")
    group = org.group("Labs", parent_id=parent)
    org.key(name="lab-key")
    key_id = next(k["id"] for k in org.admin.get("/v1/manage/apikey").json()["keys"] if k["name"] == "lab-key")
    to_group = owner_panel.post(f"/admin/access/{list_id}/assign", {"group_id": group})
    assert "Research › Labs now uses Approved chat." in _notice(owner_panel, to_group)
    to_key = owner_panel.post(f"/admin/access/{list_id}/assign", {"key_id": key_id})
    assert "The key lab-key now uses Approved chat." in _notice(owner_panel, to_key)
    assert org.admin.get(f"/v1/manage/group/{group}").json()["group"]["access_list_id"] == list_id
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["access_list_id"] == list_id
    listing = owner_panel.get("/admin/access").text
    assert "Research › Labs" in listing
    shown = owner_panel.get(f"/admin/access/{list_id}").text
    assert "lab-key" in shown.split("Used by", 1)[1]

    refused = owner_panel.post(
        f"/admin/access/{list_id}/delete", headers={"Referer": f"http://testserver/admin/access/{list_id}"}
    )
    assert "assigned to 1 group and 1 key" in _notice(owner_panel, refused)
    owner_panel.post(f"/admin/access/{list_id}/assign", {"group_id": group, "remove": "true"})
    off = owner_panel.post(f"/admin/access/{list_id}/assign", {"key_id": key_id, "remove": "true"})
    assert "Took Approved chat off the key lab-key." in _notice(owner_panel, off)
    assert org.admin.get(f"/v1/manage/group/{group}").json()["group"]["access_list_id"] is None
    deleted = owner_panel.post(f"/admin/access/{list_id}/delete")
    assert deleted.headers["location"] == "/admin/access"
    assert org.admin.get(f"/v1/manage/access-list/{list_id}").status_code == 404


def test_a_blank_name_is_refused_in_plain_words(owner_panel: PanelSession) -> None:
    refused = owner_panel.post("/admin/access", {"name": " "}, headers={"Referer": "http://testserver/admin/access"})
    assert "Name cannot be empty." in _notice(owner_panel, refused)


def test_a_group_admin_reads_the_lists_and_cannot_write_them(browser_for: Any, org: Org, db: Database) -> None:
    group = org.group("Run by someone")
    admin = org.user(role="member")
    org.add_member(group, admin, role="admin")
    panel = browser_for()
    email = org.admin.get(f"/v1/manage/user/{admin}").json()["user"]["email"]
    assert panel.sign_in(email, give_password(db, admin)).status_code == 303
    assert panel.get("/admin/access").status_code == 200
    assert panel.post("/admin/access", {"name": "Mine"}).status_code in (303, 403)
    assert org.admin.get("/v1/manage/access-list").json()["access_lists"] == []


def test_the_demo_has_an_access_list_on_sales(db: Database) -> None:
    with db.transaction() as session:
        seeded = seed(session)
    with db.transaction() as session:
        lists = list(access_repo.all_in_org(session, org_id=seeded.org.id))
        assert [a.name for a in lists] == ["Sales approved models"]
        assert access_repo.group_count(session, org_id=seeded.org.id, access_list_id=lists[0].id) == 1
