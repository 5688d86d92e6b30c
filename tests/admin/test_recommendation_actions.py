"""Acting on recommendations from the panel, over HTTP: each action is the groups service's with the
caller's rights, answers with a redirect to the recommendations and a notice naming the person and the
group by its path, and a forged form for another group changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from covey.kit.db import Database
from tests.admin.conftest import PanelSession, give_password
from tests.admin.seeding import (
    audited,
    email,
    groups_of_a_lead,
    inactive_member,
    members,
    over_budget_off_its_list,
    recommended,
    spend,
    twin_teams,
)
from tests.conftest import Org

REMOVE = "/admin/recommendations/remove-member"
ADD = "/admin/recommendations/add-member"


def _signed_in(browser_for: Any, org: Org, db: Database, user_id: str) -> PanelSession:
    panel: PanelSession = browser_for()
    assert panel.sign_in(email(org, user_id), give_password(db, user_id)).status_code == 303
    return panel


def _notice(panel: PanelSession) -> tuple[str, str]:
    """The kind and text of the notice the last redirect left for the next page."""
    notice = json.loads(unquote(panel.jar["covey_notice"]))
    return notice["kind"], notice["text"]


def _forms(html: str, action: str) -> list[dict[str, str]]:
    """The hidden fields of every form posting to `action`."""
    out = []
    for body in re.findall(rf'<form method="post" action="{action}"[^>]*>(.*?)</form>', html, re.S):
        out.append(dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body)))
    return out


def test_removing_an_inactive_member_redirects_back_names_them_and_the_recommendation_goes(
    owner_panel: PanelSession, org: Org, db: Database
) -> None:
    team, idle = inactive_member(db, org)
    shown = owner_panel.get("/admin/recommendations").text
    assert {"group_id": team, "user_id": idle, "csrf_token": owner_panel.csrf} in _forms(shown, REMOVE)
    assert "Remove from Left › Team" in shown

    done = owner_panel.post(REMOVE, {"group_id": team, "user_id": idle})
    assert done.status_code == 303 and done.headers["location"] == "/admin/recommendations"
    assert _notice(owner_panel) == ("ok", f'Removed idle-{org.id[:8]}@example.com from "Left › Team".')
    assert members(org, team) == {}
    assert audited(org, "group.member.remove", team) == 1
    after = owner_panel.get("/admin/recommendations").text
    assert "Removed idle-" in after
    assert _forms(after, REMOVE) == [] and not any(r["user_id"] == idle for r in recommended(org, "inactive_member"))


def test_a_person_in_no_group_is_added_to_the_group_picked_by_path(
    owner_panel: PanelSession, org: Org, db: Database
) -> None:
    team = twin_teams(org)
    loner = org.user(f"loner-{org.id[:8]}@example.com")
    shown = owner_panel.get("/admin/recommendations").text
    picker = re.search(rf'value="{loner}">\s*<select name="group_id"[^>]*>(.*?)</select>', shown, re.S)
    assert picker is not None
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', picker.group(1))
    assert (team, "Left › Team") in options and ("", "Add to group…") in options

    done = owner_panel.post(ADD, {"group_id": team, "user_id": loner})
    assert done.status_code == 303 and done.headers["location"] == "/admin/recommendations"
    assert _notice(owner_panel) == ("ok", f'Added loner-{org.id[:8]}@example.com to "Left › Team".')
    assert members(org, team) == {loner: "member"}
    assert not any(r["user_id"] == loner for r in recommended(org, "no_group"))


def test_an_add_without_a_group_or_for_nobody_answers_a_notice_and_changes_nothing(
    owner_panel: PanelSession, org: Org
) -> None:
    team = org.group("Team")
    loner = org.user()
    for form, expected in (
        ({"user_id": loner}, "Pick a group to add them to."),
        ({"user_id": loner, "group_id": ""}, "Pick a group to add them to."),
        ({"group_id": team}, "User is required."),
        ({"group_id": team, "user_id": "nobody"}, "user nobody not found"),
        ({"group_id": "no-such-group", "user_id": loner}, "group not found"),
    ):
        refused = owner_panel.post(ADD, form)
        assert refused.status_code == 303, form
        kind, text = _notice(owner_panel)
        assert kind == "error" and expected in text, (form, text)
    assert members(org, team) == {}
    assert owner_panel.fetch(ADD, {"user_id": loner}).status_code == 400
    assert owner_panel.fetch(REMOVE, {"group_id": team, "user_id": loner}).status_code == 404


def test_the_panel_links_budgets_and_access_to_the_groups_sections(
    owner_panel: PanelSession, org: Org, db: Database
) -> None:
    group = over_budget_off_its_list(db, org)
    shown = owner_panel.get("/admin/recommendations").text
    assert f'href="/admin/groups/{group}#budgets">Raise budget</a>' in shown
    assert f'href="/admin/groups/{group}#access">Review access</a>' in shown
    page = owner_panel.get(f"/admin/groups/{group}").text
    assert 'id="budgets"' in page and 'id="access"' in page


def test_a_group_admin_sees_and_acts_on_their_groups_only(browser_for: Any, org: Org, db: Database) -> None:
    mine, theirs, lead, mine_idle, their_idle = groups_of_a_lead(db, org)
    panel = _signed_in(browser_for, org, db, lead)
    shown = panel.get("/admin/recommendations").text
    forms = _forms(shown, REMOVE)
    assert [(f["group_id"], f["user_id"]) for f in forms] == [(mine, mine_idle)]
    assert their_idle not in shown and theirs not in shown
    assert _forms(shown, ADD) == []  # people in no group are the org admins' to place

    # A forged form for the other group: the service refuses, nothing changes.
    forged = panel.post(REMOVE, {"group_id": theirs, "user_id": their_idle})
    assert forged.status_code == 303
    assert _notice(panel) == ("error", 'Managing group "Theirs" needs the org admin role or the group admin role')
    assert panel.fetch(REMOVE, {"group_id": theirs, "user_id": their_idle}).status_code == 403
    assert panel.fetch(ADD, {"group_id": theirs, "user_id": mine_idle}).status_code == 403
    assert members(org, theirs) == {their_idle: "member"}
    assert audited(org, "group.member.", theirs) == 1  # the membership made above, nothing since

    done = panel.post(REMOVE, {"group_id": mine, "user_id": mine_idle})
    assert done.status_code == 303 and done.headers["location"] == "/admin/recommendations"
    assert _notice(panel) == ("ok", f'Removed {email(org, mine_idle)} from "Mine".')
    assert members(org, mine) == {lead: "admin"}


def test_a_better_group_is_offered_as_a_button_only_where_the_caller_manages_it(
    owner_panel: PanelSession, browser_for: Any, org: Org, db: Database
) -> None:
    own, suggested = org.group("Own"), org.group("Suggested")
    mover, heavy, fitting = org.user(f"mover-{org.id[:8]}@example.com"), org.user(), org.user()
    org.add_member(own, mover)
    org.add_member(own, heavy)
    org.add_member(suggested, fitting)
    spend(db, org, heavy, [own], model="mock/gpt-4o", cost=50_000_000_000)
    spend(db, org, mover, [own], model="mock/claude-sonnet", cost=1_000_000)
    spend(db, org, fitting, [suggested], model="mock/claude-sonnet", cost=5_000_000)
    assert [(r["user_id"], r["group_id"]) for r in recommended(org, "better_group")] == [(mover, suggested)]

    lead = org.user()
    org.add_member(own, lead, role="admin")
    theirs = _signed_in(browser_for, org, db, lead).get("/admin/recommendations").text
    assert "uses models much like" in theirs and "Add to Suggested" not in theirs

    shown = owner_panel.get("/admin/recommendations").text
    assert "Add to Suggested" in shown
    done = owner_panel.post(ADD, {"group_id": suggested, "user_id": mover})
    assert done.status_code == 303
    assert _notice(owner_panel) == ("ok", f'Added mover-{org.id[:8]}@example.com to "Suggested".')
    assert members(org, suggested) == {fitting: "member", mover: "member"}
    assert recommended(org, "better_group") == []
