"""The panel in real Chromium against a real Covey server: every change checked through the API."""

from __future__ import annotations

import re
from typing import Any

from tests.admin.browser import sign_in
from tests.admin.conftest import give_password
from tests.conftest import Org


def _members(org: Org, group_id: str) -> dict[str, str]:
    group = org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]
    return {m["id"]: m["role"] for m in group["members"]}


def _email(org: Org, user_id: str) -> str:
    return str(org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["email"])


def test_sign_in_and_create_a_nested_group(owner_page: Any, base_url: str, org: Org) -> None:
    page = owner_page
    assert page.locator("h1").inner_text() == "Overview"
    page.click("nav >> text=Groups")
    page.fill("form[action='/admin/groups'] input[name=name]", "Platform")
    page.select_option("form[action='/admin/groups'] select[name=kind]", "department")
    page.click("text=Create group")
    page.wait_for_url(re.compile(r"/admin/groups/[0-9a-f-]{36}$"))
    parent_id = page.url.rsplit("/", 1)[1]
    assert "Platform" in page.locator("h1").inner_text()
    page.fill("form:has(input[name=parent_id]) input[name=name]", "Site Reliability")
    page.click("text=Create subgroup")
    page.wait_for_url(re.compile(r"/admin/groups/[0-9a-f-]{36}$"))
    child_id = page.url.rsplit("/", 1)[1]
    assert child_id != parent_id
    child = org.admin.get(f"/v1/manage/group/{child_id}").json()["group"]
    assert (child["name"], child["parent_id"]) == ("Site Reliability", parent_id)
    # The tree shows the new group under its parent.
    page.goto(f"{base_url}/admin/groups")
    nested = page.locator(f".node:has(> .row[data-group-id='{parent_id}']) .row[data-group-id='{child_id}']")
    assert nested.count() == 1


def test_drag_a_member_to_another_group_moves_them_and_a_modifier_adds_them(
    owner_page: Any, base_url: str, org: Org
) -> None:
    source, target, extra = org.group("Drag source"), org.group("Drag target"), org.group("Drag extra")
    person = org.user()
    org.add_member(source, person, role="admin")
    page = owner_page
    page.goto(f"{base_url}/admin/groups/{source}")
    page.drag_and_drop(f"tr.member[data-user-id='{person}']", f"[data-member-targets] .row[data-group-id='{target}']")
    page.wait_for_selector("#toast:not([hidden])")
    assert "Moved" in page.locator("#toast").inner_text()
    assert _members(org, source) == {}
    assert _members(org, target) == {person: "admin"}
    # From the target's page, with Alt held: added to the other group, kept in this one.
    page.goto(f"{base_url}/admin/groups/{target}")
    page.keyboard.down("Alt")
    page.drag_and_drop(f"tr.member[data-user-id='{person}']", f"[data-member-targets] .row[data-group-id='{extra}']")
    page.keyboard.up("Alt")
    page.wait_for_selector("#toast:not([hidden])")
    assert _members(org, target) == {person: "admin"}
    assert _members(org, extra) == {person: "admin"}


def test_the_keyboard_menu_moves_a_member(owner_page: Any, base_url: str, org: Org) -> None:
    source, target = org.group("Menu source"), org.group("Menu target")
    person = org.user()
    org.add_member(source, person)
    page = owner_page
    page.goto(f"{base_url}/admin/groups/{source}")
    row = page.locator(f"tr.member[data-user-id='{person}']")
    row.locator("summary").focus()
    page.keyboard.press("Enter")
    row.locator("select[name=to_group_id]").select_option(target)
    row.locator("button[value=move]").click()
    page.wait_for_selector(".notice")
    assert "Moved" in page.locator(".notice").inner_text()
    assert person in _members(org, target)
    assert person not in _members(org, source)


def test_drag_a_group_onto_another_and_a_cycle_is_refused(owner_page: Any, base_url: str, org: Org) -> None:
    outer, inner, elsewhere = org.group("Outer"), None, org.group("Elsewhere")
    inner = org.group("Inner", parent_id=outer)
    page = owner_page
    page.goto(f"{base_url}/admin/groups")
    page.drag_and_drop(f".row[data-group-id='{outer}']", f".row[data-group-id='{inner}']")
    page.wait_for_selector("#toast.error:not([hidden])")
    assert "cycle" in page.locator("#toast").inner_text()
    assert org.admin.get(f"/v1/manage/group/{outer}").json()["group"]["parent_id"] is None
    page.drag_and_drop(f".row[data-group-id='{inner}']", f".row[data-group-id='{elsewhere}']")
    page.wait_for_selector("#toast:not(.error):not([hidden])")
    assert org.admin.get(f"/v1/manage/group/{inner}").json()["group"]["parent_id"] == elsewhere


def test_add_three_people_through_the_dialog_then_remove_two_in_bulk(owner_page: Any, base_url: str, org: Org) -> None:
    group = org.group("Dialog group")
    tag = org.id[:8]
    people = [org.user(f"dialog-{i}-{tag}@example.com", name=f"Dialog Person {i}") for i in range(3)]
    page = owner_page
    page.goto(f"{base_url}/admin/groups/{group}")
    page.click("text=Add members")
    page.fill("#member-search", "dialog-")
    for person in people:
        page.check(f"#member-results input[value='{person}']")
    assert page.locator("#picked-count").inner_text() == "3 selected"
    page.click("#add-selected")
    page.wait_for_selector("tr.member")
    assert set(_members(org, group)) == set(people)
    assert page.locator("tr.member").count() == 3
    page.on("dialog", lambda dialog: dialog.accept())
    for person in people[:2]:
        page.check(f"tr.member[data-user-id='{person}'] input[type=checkbox]")
    assert page.locator("[data-selected-count]").inner_text() == "2 selected"
    page.click("#bulk button:has-text('Remove')")
    page.wait_for_selector(".notice")
    assert "Removed 2 people" in page.locator(".notice").inner_text()
    assert _members(org, group) == {people[2]: "member"}


def test_set_a_budget(owner_page: Any, base_url: str, org: Org) -> None:
    group = org.group("Budget group")
    page = owner_page
    page.goto(f"{base_url}/admin/groups/{group}")
    page.fill("input[name=monthly_budget]", "1250.50")
    page.fill("input[name=monthly_budget_per_user]", "100")
    page.click("text=Save budgets")
    page.wait_for_selector(".notice")
    got = org.admin.get(f"/v1/manage/group/{group}").json()["group"]
    assert (got["monthly_budget"], got["monthly_budget_per_user"]) == (1250.5, 100)
    assert "$1,250.50" in page.locator(".cards").inner_text()


def test_create_a_key_and_see_its_secret_once(owner_page: Any, base_url: str, org: Org) -> None:
    page = owner_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page.goto(f"{base_url}/admin/keys")
    page.fill("form[action='/admin/keys'] input[name=name]", "browser-key")
    page.fill("form[action='/admin/keys'] input[name=monthly_limit]", "25")
    page.click("text=Create key")
    secret = page.input_value("#new-secret")
    assert secret.startswith("cvy_")
    page.click("[data-copy]")
    page.wait_for_selector("[data-copy]:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    key = next(k for k in org.admin.get("/v1/manage/apikey").json()["keys"] if k["name"] == "browser-key")
    assert key["monthly_limit"] == "25"
    assert key["prefix"] == secret[: len(key["prefix"])]
    page.goto(f"{base_url}/admin/keys")
    assert "browser-key" in page.content()
    assert secret not in page.content()


def test_a_member_cannot_open_admin_pages(page: Any, base_url: str, org: Org, db: Any) -> None:
    member = org.user()
    sign_in(page, base_url, _email(org, member), give_password(db, member))
    assert page.url.endswith("/admin/me")
    for path in ("/admin/groups", "/admin/users", "/admin/audit"):
        response = page.goto(f"{base_url}{path}")
        assert response.status == 403
        assert "Not allowed" in page.locator("h1").inner_text()
    assert page.locator("nav >> text=Groups").count() == 0


def test_a_forged_form_without_the_csrf_token_is_refused(owner_page: Any, base_url: str, org: Org) -> None:
    page = owner_page
    before = {g["name"] for g in org.admin.get("/v1/manage/group").json()["groups"]}
    # A form another site could post: same fields, no token. The session cookie goes with it.
    page.evaluate(
        """() => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/admin/groups";
            const name = document.createElement("input");
            name.name = "name";
            name.value = "Forged group";
            form.append(name);
            document.body.append(form);
            form.submit();
        }"""
    )
    page.wait_for_selector("text=CSRF")
    assert "403" in page.locator(".big-status").inner_text()
    after = {g["name"] for g in org.admin.get("/v1/manage/group").json()["groups"]}
    assert after == before


def test_lock_out_after_repeated_failures(page: Any, base_url: str, org: Org) -> None:
    for _ in range(5):
        sign_in(page, base_url, org.owner_email, "wrong password")
        assert "Wrong email or password" in page.locator(".notice.error").inner_text()
    sign_in(page, base_url, org.owner_email, org.password)
    assert "Too many failed sign-ins" in page.locator(".notice.error").inner_text()
    assert "/admin/sign-in" in page.url


def test_sign_out(owner_page: Any, base_url: str) -> None:
    page = owner_page
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/admin/sign-in"))
    page.goto(f"{base_url}/admin/groups")
    assert "/admin/sign-in" in page.url
