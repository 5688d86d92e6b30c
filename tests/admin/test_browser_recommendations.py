"""Recommendations acted on in Chromium: an org admin removes an inactive member (after confirming),
adds a person in no group through the path picker, follows "Raise budget" and "Review access" to the
group's sections; a group admin acts on their groups only; F5 after an action repeats nothing."""

from __future__ import annotations

from typing import Any

from covey.kit.db import Database
from tests.admin.browser import sign_in
from tests.admin.conftest import give_password
from tests.admin.seeding import (
    audited,
    email,
    groups_of_a_lead,
    inactive_member,
    members,
    over_budget_off_its_list,
    twin_teams,
)
from tests.conftest import Org


def _rec(page: Any, kind: str, *, user_id: str | None = None, group_id: str | None = None) -> Any:
    selector = f"li.rec[data-kind='{kind}']"
    if user_id:
        selector += f"[data-user-id='{user_id}']"
    if group_id:
        selector += f"[data-group-id='{group_id}']"
    return page.locator(selector)


def _reload(page: Any) -> None:
    """F5: the browser asks again for the page the action landed on, with a GET."""
    response = page.reload()
    assert response.request.method == "GET"
    page.wait_for_load_state()


def test_an_org_admin_removes_an_inactive_member_and_f5_repeats_nothing(
    owner_page: Any, base_url: str, org: Org, db: Database
) -> None:
    team, idle = inactive_member(db, org)
    tag = org.id[:8]
    page = owner_page
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.goto(f"{base_url}/admin/recommendations")
    rec = _rec(page, "inactive_member", user_id=idle)
    assert 'review their membership of "Left › Team"' in rec.inner_text()
    rec.locator("button:has-text('Remove from Left › Team')").click()
    page.wait_for_selector(".notice")
    assert asked == [f"Remove idle-{tag}@example.com from Left › Team?"]
    assert page.url == f"{base_url}/admin/recommendations"
    assert page.locator(".notice").inner_text() == f'Removed idle-{tag}@example.com from "Left › Team".'
    assert _rec(page, "inactive_member", user_id=idle).count() == 0
    assert members(org, team) == {}

    _reload(page)
    assert page.locator(".notice").count() == 0
    assert asked == [f"Remove idle-{tag}@example.com from Left › Team?"]  # no form sent again
    assert audited(org, "group.member.remove", team) == 1


def test_an_org_admin_adds_a_person_in_no_group_through_the_picker(
    owner_page: Any, base_url: str, org: Org, db: Database
) -> None:
    team = twin_teams(org)
    tag = org.id[:8]
    loner = org.user(f"loner-{tag}@example.com")
    page = owner_page
    page.goto(f"{base_url}/admin/recommendations")
    rec = _rec(page, "no_group", user_id=loner)
    picker = rec.locator("select[name=group_id]")
    labels = picker.locator("option").all_inner_texts()
    assert labels[0] == "Add to group…" and {"Left › Team", "Right › Team"} <= set(labels)
    picker.select_option(label="Left › Team")
    rec.locator("button:has-text('Add')").click()
    page.wait_for_selector(".notice")
    assert page.url == f"{base_url}/admin/recommendations"
    assert page.locator(".notice").inner_text() == f'Added loner-{tag}@example.com to "Left › Team".'
    assert _rec(page, "no_group", user_id=loner).count() == 0
    assert members(org, team) == {loner: "member"}

    _reload(page)
    assert page.locator(".notice").count() == 0
    assert members(org, team) == {loner: "member"}
    assert audited(org, "group.member.add", team) == 1


def test_raise_budget_and_review_access_open_the_groups_sections(
    owner_page: Any, base_url: str, org: Org, db: Database
) -> None:
    group = over_budget_off_its_list(db, org)
    page = owner_page
    page.goto(f"{base_url}/admin/recommendations")
    _rec(page, "over_budget", group_id=group).locator("text=Raise budget").click()
    page.wait_for_url(f"{base_url}/admin/groups/{group}#budgets")
    assert page.locator("#budgets").is_visible()
    assert page.locator("#budgets").evaluate("e => e.getBoundingClientRect().top < window.innerHeight")

    page.goto(f"{base_url}/admin/recommendations")
    _rec(page, "model_dropped", group_id=group).locator("text=Review access").click()
    page.wait_for_url(f"{base_url}/admin/groups/{group}#access")
    assert page.locator("#access").is_visible()


def test_a_group_admin_acts_on_their_groups_only(page: Any, base_url: str, org: Org, db: Database) -> None:
    mine, theirs, lead, mine_idle, their_idle = groups_of_a_lead(db, org)
    sign_in(page, base_url, email(org, lead), give_password(db, lead))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base_url}/admin/recommendations")
    assert _rec(page, "inactive_member", user_id=their_idle).count() == 0
    assert _rec(page, "no_group").count() == 0

    # The form for their own group, rewritten in the page to point at the other group: refused.
    form = _rec(page, "inactive_member", user_id=mine_idle).locator("form")
    form.evaluate(
        "(f, ids) => { f.group_id.value = ids[0]; f.user_id.value = ids[1]; }",
        [theirs, their_idle],
    )
    form.locator("button").click()
    page.wait_for_selector(".notice.error")
    assert (
        'Managing group "Theirs" needs the org admin role or the group admin role'
        in page.locator(".notice").inner_text()
    )
    assert members(org, theirs) == {their_idle: "member"}
    assert members(org, mine) == {lead: "admin", mine_idle: "member"}

    page.goto(f"{base_url}/admin/recommendations")
    _rec(page, "inactive_member", user_id=mine_idle).locator("button:has-text('Remove from Mine')").click()
    page.wait_for_selector(".notice:not(.error)")
    assert page.url == f"{base_url}/admin/recommendations"
    assert page.locator(".notice").inner_text() == f'Removed {email(org, mine_idle)} from "Mine".'
    assert members(org, mine) == {lead: "admin"}
    _reload(page)
    assert page.locator(".notice").count() == 0
    assert audited(org, "group.member.remove", mine) == 1
    assert audited(org, "group.member.remove", theirs) == 0
