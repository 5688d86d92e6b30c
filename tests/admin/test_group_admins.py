"""What a group admin may do in the panel: add anyone in the org to the groups they run, move groups
within them, with every picker naming groups by path; and one count of members everywhere."""

from __future__ import annotations

import re
from typing import Any

from tests.admin.conftest import PanelSession, give_password
from tests.conftest import Org


def _signed_in(browser_for: Any, org: Org, db: Any, user_id: str) -> PanelSession:
    panel: PanelSession = browser_for()
    email = org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["email"]
    assert panel.sign_in(email, give_password(db, user_id)).status_code == 303
    return panel


def _options(html: str, select_name: str) -> list[str]:
    """The option texts of the first <select name=...> on the page."""
    found = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None, f"no select {select_name}"
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<option[^>]*>(.*?)</option>", found.group(1))]


def _members(org: Org, group_id: str) -> set[str]:
    return {m["id"] for m in org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]["members"]}


def test_a_group_admin_finds_and_adds_someone_outside_their_groups(browser_for: Any, org: Org, db: Any) -> None:
    mine, other = org.group("Runs"), org.group("Not theirs")
    admin = org.user()
    org.add_member(mine, admin, role="admin")
    stranger = org.user(f"stranger-{org.id[:8]}@example.com", name="Stranger Danger")
    org.add_member(other, stranger)
    panel = _signed_in(browser_for, org, db, admin)
    found = panel.get("/admin/api/users", params={"group_id": mine, "q": "stranger"}).json()["users"]
    assert [(u["id"], u["name"], u["member"]) for u in found] == [(stranger, "Stranger Danger", False)]
    # Only name and email: nothing else of a person the group admin could not otherwise see.
    assert set(found[0]) == {"id", "email", "name", "member"}
    added = panel.fetch(f"/admin/groups/{mine}/members/add", {"user_ids": [stranger]})
    assert added.status_code == 200, added.text
    assert stranger in _members(org, mine)
    again = panel.get("/admin/api/users", params={"group_id": mine, "q": "stranger"}).json()["users"]
    assert again[0]["member"] is True


def test_a_group_admin_cannot_search_or_add_for_a_group_they_do_not_run(browser_for: Any, org: Org, db: Any) -> None:
    mine, other = org.group("Runs"), org.group("Someone else's")
    admin, person = org.user(), org.user()
    org.add_member(mine, admin, role="admin")
    panel = _signed_in(browser_for, org, db, admin)
    assert panel.get("/admin/api/users", params={"group_id": other}).status_code == 403
    assert panel.fetch(f"/admin/groups/{other}/members/add", {"user_ids": [person]}).status_code == 403
    assert person not in _members(org, other)
    # Without a group the search stays what the caller may see: their own people only.
    seen = {u["id"] for u in panel.get("/admin/api/users").json()["users"]}
    assert person not in seen and admin in seen


def test_another_orgs_people_are_never_candidates(browser_for: Any, org: Org, new_org: Any, db: Any) -> None:
    other = new_org("Elsewhere")
    outsider = other.user(f"outsider-{other.id[:8]}@example.com")
    mine = org.group("Runs")
    admin = org.user()
    org.add_member(mine, admin, role="admin")
    panel = _signed_in(browser_for, org, db, admin)
    found = panel.get("/admin/api/users", params={"group_id": mine, "q": "outsider"}).json()["users"]
    assert found == []
    assert panel.fetch(f"/admin/groups/{mine}/members/add", {"user_ids": [outsider]}).status_code == 404


def test_pickers_name_groups_by_path_and_move_never_offers_the_subtree(browser_for: Any, org: Org, db: Any) -> None:
    top = org.group("Engineering")
    backend = org.group("Backend", parent_id=top)
    org.group("Tools", parent_id=backend)
    web = org.group("Web", parent_id=top)
    org.group("Tools", parent_id=web)
    admin = org.user()
    org.add_member(top, admin, role="admin")
    org.add_member(backend, org.user())
    panel = _signed_in(browser_for, org, db, admin)
    page = panel.get(f"/admin/groups/{backend}").text
    # Move to… (a member): every group the admin runs but this one, by path.
    assert _options(page, "to_group_id") == [
        "Engineering",
        "Engineering › Backend › Tools",
        "Engineering › Web",
        "Engineering › Web › Tools",
    ]
    # Move this group: never itself nor its own subgroups, and no top level for a group admin.
    assert _options(page, "parent_id") == ["Engineering", "Engineering › Web", "Engineering › Web › Tools"]
    moved = panel.post(f"/admin/groups/{backend}/move", {"parent_id": web})
    assert moved.status_code == 303
    assert org.admin.get(f"/v1/manage/group/{backend}").json()["group"]["parent_id"] == web
    # The top of what they run cannot be moved by them, and the page says so instead of a picker.
    top_page = panel.get(f"/admin/groups/{top}").text
    assert 'name="parent_id" aria-label="New parent group"' not in top_page
    assert "Only an org admin can move Engineering" in top_page


def test_a_group_admin_still_cannot_move_a_group_out_of_their_subtree(browser_for: Any, org: Org, db: Any) -> None:
    mine, outside = org.group("Runs"), org.group("Outside")
    child = org.group("Child", parent_id=mine)
    admin = org.user()
    org.add_member(mine, admin, role="admin")
    panel = _signed_in(browser_for, org, db, admin)
    refused = panel.fetch(f"/admin/groups/{child}/move", {"parent_id": outside})
    assert refused.status_code == 403
    assert org.admin.get(f"/v1/manage/group/{child}").json()["group"]["parent_id"] == mine


def test_members_are_counted_one_way_on_every_page(owner_panel: PanelSession, org: Org) -> None:
    sales = org.group("Sales")
    east, west = org.group("East", parent_id=sales), org.group("West", parent_id=sales)
    lead, a, b, c = org.user(), org.user(), org.user(), org.user()
    org.add_member(sales, lead, role="admin")
    org.add_member(east, a)
    org.add_member(east, b)
    org.add_member(west, b)  # in two subgroups: one person
    org.add_member(west, c)
    group_page = owner_panel.get(f"/admin/groups/{sales}").text
    assert re.search(r"data-total-members>4<", group_page)
    assert re.search(r"data-direct-members>1<", group_page)
    tree = owner_panel.get("/admin/groups").text
    row = re.search(rf'data-group-id="{sales}".*?<span class="count"[^>]*>(.*?)</span>', tree, re.S)
    assert row is not None and row.group(1).strip() == "4 members"
    overview = owner_panel.get("/admin/").text
    cell = re.search(rf'href="/admin/groups/{sales}".*?<td class="num">(\d+)</td>', overview, re.S)
    assert cell is not None and cell.group(1) == "4"
    # Users filtered by the group: everyone in it, subgroups included, or its direct members only.
    everyone = owner_panel.get("/admin/users", params={"group_id": sales}).text
    assert {lead, a, b, c} <= set(re.findall(r'<tr data-user-id="([^"]+)"', everyone))
    assert len(re.findall(r'<tr data-user-id="', everyone)) == 4
    direct = owner_panel.get("/admin/users", params={"group_id": sales, "subgroups": "false"}).text
    assert re.findall(r'<tr data-user-id="([^"]+)"', direct) == [lead]
    # The API lists the same people.
    listed = org.admin.get("/v1/manage/user", params={"group_id": sales, "recursive": "true"}).json()
    assert {u["id"] for u in listed["users"]} == {lead, a, b, c}
    assert listed["total"] == 4
