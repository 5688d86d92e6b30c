"""Group admins in Chromium: adding people from the whole org to the groups they run, by the dialog and
by drag and drop, with pickers that name groups by path."""

from __future__ import annotations

from typing import Any

from tests.admin.browser import sign_in
from tests.admin.conftest import give_password
from tests.conftest import Org


def _email(org: Org, user_id: str) -> str:
    return str(org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["email"])


def _members(org: Org, group_id: str) -> dict[str, str]:
    group = org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]
    return {m["id"]: m["role"] for m in group["members"]}


def _group_admin_page(page: Any, base_url: str, org: Org, db: Any, group_id: str) -> str:
    admin = org.user()
    org.add_member(group_id, admin, role="admin")
    sign_in(page, base_url, _email(org, admin), give_password(db, admin))
    assert page.url.endswith("/admin/")
    return admin


def test_a_group_admin_adds_someone_outside_their_groups_through_the_dialog(
    page: Any, base_url: str, org: Org, db: Any
) -> None:
    mine, other = org.group("Runs dialog"), org.group("Not theirs")
    tag = org.id[:8]
    stranger = org.user(f"outsider-{tag}@example.com", name=f"Outsider {tag}")
    org.add_member(other, stranger)
    admin = _group_admin_page(page, base_url, org, db, mine)
    page.goto(f"{base_url}/admin/groups/{mine}")
    page.click("text=Add members")
    page.fill("#member-search", f"outsider-{tag}")
    box = page.locator(f"#member-results input[value='{stranger}']")
    box.check()
    page.click("#add-selected")
    page.wait_for_selector("#toast:not([hidden])")
    assert f'Added outsider-{tag}@example.com to "Runs dialog"' in page.locator("#toast").inner_text()
    assert _members(org, mine) == {admin: "admin", stranger: "member"}
    assert _members(org, other) == {stranger: "member"}  # still in their own group too


def test_a_group_admin_drags_someone_from_the_finder_onto_members_and_onto_a_subgroup(
    page: Any, base_url: str, org: Org, db: Any
) -> None:
    mine = org.group("Runs drag")
    child = org.group("Drag child", parent_id=mine)
    tag = org.id[:8]
    first = org.user(f"first-{tag}@example.com", name=f"First {tag}")
    second = org.user(f"second-{tag}@example.com", name=f"Second {tag}")
    _group_admin_page(page, base_url, org, db, mine)
    page.goto(f"{base_url}/admin/groups/{mine}")
    page.fill("#people-finder input[type=search]", f"first-{tag}")
    page.drag_and_drop(f"#people-finder li.person[data-user-id='{first}']", "#members")
    page.wait_for_selector("#toast:not([hidden])")
    assert f'Added first-{tag}@example.com to "Runs drag"' in page.locator("#toast").inner_text()
    assert _members(org, mine)[first] == "member"
    # Onto a group in the tree: added there, not here.
    page.fill("#people-finder input[type=search]", f"second-{tag}")
    page.drag_and_drop(
        f"#people-finder li.person[data-user-id='{second}']", f"[data-member-targets] .row[data-group-id='{child}']"
    )
    page.wait_for_selector("#toast:not([hidden]):has-text('Drag child')")
    assert _members(org, child) == {second: "member"}
    assert second not in _members(org, mine)


def test_a_group_admin_moves_a_subgroup_with_the_path_picker(page: Any, base_url: str, org: Org, db: Any) -> None:
    top = org.group("Picker top")
    first = org.group("Team", parent_id=org.group("Left", parent_id=top))
    right = org.group("Right", parent_id=top)
    second = org.group("Team", parent_id=right)
    _group_admin_page(page, base_url, org, db, top)
    page.goto(f"{base_url}/admin/groups/{first}")
    picker = page.locator("select[name=parent_id]")
    labels = picker.locator("option").all_inner_texts()
    assert "Picker top › Right › Team" in labels
    assert "Picker top › Left › Team" not in labels  # the group itself
    picker.select_option(label="Picker top › Right › Team")
    page.click("text=Move under")
    page.wait_for_selector(".notice")
    assert org.admin.get(f"/v1/manage/group/{first}").json()["group"]["parent_id"] == second


def test_open_a_person_from_users_and_change_their_role(owner_page: Any, base_url: str, org: Org) -> None:
    tag = org.id[:8]
    person = org.user(f"role-{tag}@example.com", name=f"Role Person {tag}")
    page = owner_page
    page.goto(f"{base_url}/admin/users?q=role-{tag}")
    page.click(f"text=Role Person {tag}")
    page.wait_for_url(f"{base_url}/admin/users/{person}")
    page.select_option("#role select[name=role]", "admin")
    page.click("text=Change role")
    page.wait_for_selector(".notice")
    assert "is now admin" in page.locator(".notice").inner_text()
    assert org.admin.get(f"/v1/manage/user/{person}").json()["user"]["role"] == "admin"


def test_a_member_changes_their_own_password(page: Any, base_url: str, org: Org, db: Any) -> None:
    member = org.user()
    email = _email(org, member)
    old = give_password(db, member)
    sign_in(page, base_url, email, old)
    assert page.url.endswith("/admin/me")
    page.fill("input[name=current_password]", old)
    page.fill("input[name=new_password]", "a much longer secret")
    page.fill("input[name=repeat_password]", "a much longer secret")
    page.click("text=Change password")
    page.wait_for_selector(".notice")
    assert "Changed your password" in page.locator(".notice").inner_text()
    page.reload()  # still signed in, and the reload changes nothing
    assert page.url.endswith("/admin/me")
    assert page.locator(".notice").count() == 0
    page.click("text=Sign out")
    sign_in(page, base_url, email, "a much longer secret")
    assert page.url.endswith("/admin/me")
