"""The panel's routes through HTTP, without a browser: sign-in, roles, CSRF, and changes landing in the
API's state and the audit log."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from covey.admin import repository as admin_repo
from covey.admin import signin
from covey.kit.clock import utcnow
from tests.admin.conftest import PanelSession, give_password
from tests.conftest import Api, Org

PAGES = (
    "/admin/",
    "/admin/groups",
    "/admin/users",
    "/admin/keys",
    "/admin/analytics",
    "/admin/recommendations",
    "/admin/alerts",
    "/admin/audit",
    "/admin/me",
)


_SECRET = re.compile(r'id="new-secret" class="secret" readonly value="([^"]+)"')


def _shown_once(panel: PanelSession, answer: Any) -> str:
    """A change that makes a secret redirects; the page it lands on shows the secret, a reload does not."""
    assert answer.status_code == 303, answer.text
    target = answer.headers["location"]
    landed = panel.get(target)
    assert landed.status_code == 200
    assert landed.headers["cache-control"] == "no-store"
    found = _SECRET.search(landed.text)
    assert found is not None
    secret = found.group(1)
    assert secret not in target
    again = panel.get(target)
    assert again.status_code == 200
    assert secret not in again.text
    return secret


def _members(org: Org, group_id: str) -> dict[str, str]:
    group = org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]
    return {m["id"]: m["role"] for m in group["members"]}


def test_unknown_panel_addresses_answer_a_404_page(browser_for: Any) -> None:
    response = browser_for().get("/admin/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text


def test_signed_out_pages_send_to_sign_in(browser_for: Any) -> None:
    panel = browser_for()
    for path in PAGES:
        response = panel.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/sign-in?next=")
    assert panel.get("/admin/sign-in").status_code == 200


def test_sign_in_sets_a_secure_session_cookie_and_opens_every_page(browser_for: Any, org: Org) -> None:
    panel = browser_for()
    form = panel.get("/admin/sign-in")
    assert "Sign in" in form.text
    response = panel.sign_in(org.owner_email.upper(), org.password)
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("covey_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    for path in PAGES:
        page = panel.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "Sign out" in page.text


def test_wrong_password_is_refused(browser_for: Any, org: Org) -> None:
    panel = browser_for()
    response = panel.sign_in(org.owner_email, "not-the-password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.text
    assert "covey_session" not in panel.jar
    assert panel.get("/admin/groups").status_code == 303


def test_lock_out_after_five_failures_even_with_the_right_password(browser_for: Any, org: Org, db: Any) -> None:
    colleague = org.user(role="admin")
    colleague_password = give_password(db, colleague)
    colleague_email = org.admin.get(f"/v1/manage/user/{colleague}").json()["user"]["email"]
    panel = browser_for()
    for _ in range(5):
        assert panel.sign_in(org.owner_email, "wrong").status_code == 401
    locked = panel.sign_in(org.owner_email, org.password)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert "covey_session" not in panel.jar
    # The lock-out is per email: someone else still signs in.
    assert browser_for().sign_in(colleague_email, colleague_password).status_code == 303


def test_failures_from_one_address_never_lock_out_another(browser_for: Any, browser_at: Any, org: Org) -> None:
    """Someone who knows the owner's email and types wrong passwords locks out only themselves."""
    attacker = browser_for()
    for _ in range(5):
        assert attacker.sign_in(org.owner_email, "wrong").status_code == 401
    assert attacker.sign_in(org.owner_email, org.password).status_code == 429
    assert browser_at("198.51.100.7").sign_in(org.owner_email, org.password).status_code == 303
    # The owner signing in elsewhere does not lift the attacker's lock-out.
    assert attacker.sign_in(org.owner_email, org.password).status_code == 429


def test_one_address_guessing_across_many_emails_is_stopped(browser_at: Any, org: Org, db: Any) -> None:
    guesser = browser_at("198.51.100.8")
    for n in range(signin.MAX_FAILURES_PER_CLIENT - 1):  # recorded as refused sign-ins record them
        with db.transaction() as session:
            admin_repo.add_failure(session, email=f"nobody-{n}@example.com", client="198.51.100.8", at=utcnow())
    assert guesser.sign_in(f"{uuid.uuid4().hex}@example.com", "guess").status_code == 401
    locked = guesser.sign_in(org.owner_email, org.password)
    assert locked.status_code == 429 and "from this address" in locked.text
    assert browser_at("198.51.100.9").sign_in(org.owner_email, org.password).status_code == 303


def test_a_password_reset_signs_the_person_out_everywhere(
    browser_for: Any, owner_panel: PanelSession, org: Org, db: Any
) -> None:
    colleague = org.user(role="admin")
    old_password = give_password(db, colleague)
    email = org.admin.get(f"/v1/manage/user/{colleague}").json()["user"]["email"]
    laptop, phone = browser_for(), browser_for()
    assert laptop.sign_in(email, old_password).status_code == 303
    assert phone.sign_in(email, old_password).status_code == 303
    assert laptop.get("/admin/keys").status_code == 200

    new_password = _shown_once(owner_panel, owner_panel.post(f"/admin/users/{colleague}/password"))

    assert laptop.get("/admin/keys").status_code == 303  # back to the sign-in page
    assert phone.get("/admin/keys").status_code == 303
    assert owner_panel.get("/admin/keys").status_code == 200  # the one who reset it stays in
    assert browser_for().sign_in(email, old_password).status_code == 401
    assert browser_for().sign_in(email, new_password).status_code == 303


def test_sign_in_form_needs_its_token(browser_for: Any, org: Org) -> None:
    panel = browser_for()
    panel.get("/admin/sign-in")
    response = panel.post("/admin/sign-in", {"email": org.owner_email, "password": org.password}, csrf=False)
    assert response.status_code == 403
    assert "covey_session" not in panel.jar


def test_sign_out_ends_the_session(owner_panel: PanelSession) -> None:
    session_cookie = owner_panel.jar["covey_session"]
    response = owner_panel.post("/admin/sign-out")
    assert response.status_code == 303
    assert "covey_session" not in owner_panel.jar
    # The old cookie, replayed, no longer opens anything: the session is gone on the server.
    owner_panel.jar["covey_session"] = session_cookie
    assert owner_panel.get("/admin/groups").status_code == 303


def test_a_forged_cookie_is_not_a_session(browser_for: Any, owner_panel: PanelSession) -> None:
    token, _, _mac = owner_panel.jar["covey_session"].rpartition(".")
    forged = browser_for()
    forged.jar["covey_session"] = token + ".0000"
    assert forged.get("/admin/groups").status_code == 303


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(owner_panel: PanelSession, org: Org) -> None:
    before = org.admin.get("/v1/manage/group").json()["groups"]
    forged = owner_panel.post("/admin/groups", {"name": "Forged"}, csrf=False)
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    wrong = owner_panel.post("/admin/groups", {"name": "Forged", "csrf_token": "0" * 64}, csrf=False)
    assert wrong.status_code == 403
    assert org.admin.get("/v1/manage/group").json()["groups"] == before


def test_create_a_nested_group_lands_in_the_api_and_the_audit_log(owner_panel: PanelSession, org: Org) -> None:
    response = owner_panel.post("/admin/groups", {"name": "Engineering", "kind": "department"})
    assert response.status_code == 303
    parent_id = response.headers["location"].rsplit("/", 1)[1]
    child = owner_panel.post("/admin/groups", {"name": "Backend", "parent_id": parent_id})
    child_id = child.headers["location"].rsplit("/", 1)[1]
    got = org.admin.get(f"/v1/manage/group/{child_id}").json()["group"]
    assert got["parent_id"] == parent_id
    assert got["name"] == "Backend"
    events = org.admin.get("/v1/manage/audit", params={"action": "group.create", "target_id": child_id}).json()
    assert events["total"] == 1
    event = events["events"][0]
    assert (event["actor_kind"], event["actor_id"], event["via_key_id"]) == ("user", org.owner_id, None)
    page = owner_panel.get(f"/admin/groups/{child_id}")
    assert page.status_code == 200
    assert "Backend" in page.text


def test_bad_input_comes_back_as_a_notice_naming_the_field(owner_panel: PanelSession, org: Org) -> None:
    group_id = org.group("Budgeted")
    response = owner_panel.post(
        f"/admin/groups/{group_id}/budget",
        {"monthly_budget": "-3"},
        headers={"Referer": f"http://testserver/admin/groups/{group_id}"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/groups/{group_id}"
    page = owner_panel.get(response.headers["location"])
    assert "Monthly budget must not be negative." in page.text
    assert org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]["monthly_budget"] is None


def test_moving_a_group_under_its_own_child_is_refused(owner_panel: PanelSession, org: Org) -> None:
    parent = org.group("Parent")
    child = org.group("Child", parent_id=parent)
    refused = owner_panel.fetch(f"/admin/groups/{parent}/move", {"parent_id": child})
    assert refused.status_code == 409
    assert "cycle" in refused.json()["error"]["message"]
    moved = owner_panel.fetch(f"/admin/groups/{child}/move", {"parent_id": ""})
    assert moved.status_code == 200
    assert org.admin.get(f"/v1/manage/group/{child}").json()["group"]["parent_id"] is None
    # The same move from the group page's form, for keyboards.
    back = owner_panel.post(f"/admin/groups/{child}/move", {"parent_id": parent})
    assert (back.status_code, back.headers["location"]) == (303, f"/admin/groups/{child}")
    assert org.admin.get(f"/v1/manage/group/{child}").json()["group"]["parent_id"] == parent


def test_move_and_add_a_member_to_another_group(owner_panel: PanelSession, org: Org) -> None:
    source, target, third = org.group("Source"), org.group("Target"), org.group("Third")
    person = org.user()
    org.add_member(source, person, role="admin")
    moved = owner_panel.fetch(f"/admin/groups/{source}/members/{person}/move", {"to_group_id": target, "mode": "move"})
    assert moved.status_code == 200, moved.text
    assert _members(org, source) == {}
    assert _members(org, target) == {person: "admin"}
    added = owner_panel.fetch(f"/admin/groups/{target}/members/{person}/move", {"to_group_id": third, "mode": "add"})
    assert added.status_code == 200
    assert _members(org, target) == {person: "admin"}
    assert _members(org, third) == {person: "admin"}


def test_moving_a_member_names_the_target_group_by_its_path(owner_panel: PanelSession, org: Org) -> None:
    source = org.group("Source")
    team = org.group("Team", parent_id=org.group("Left"))
    org.group("Team", parent_id=org.group("Right"))
    person = org.user(f"mover-{org.id[:8]}@example.com")
    org.add_member(source, person)
    moved = owner_panel.fetch(f"/admin/groups/{source}/members/{person}/move", {"to_group_id": team, "mode": "move"})
    assert moved.json()["message"] == f'Moved mover-{org.id[:8]}@example.com to "Left › Team".'
    added = owner_panel.fetch(f"/admin/groups/{team}/members/add", {"user_ids": [org.user()]})
    assert added.json()["message"].endswith(' to "Left › Team" as member.')


def test_bulk_add_remove_and_role_change(owner_panel: PanelSession, org: Org) -> None:
    group = org.group("Bulk")
    people = [org.user() for _ in range(4)]
    added = owner_panel.fetch(f"/admin/groups/{group}/members/add", {"user_ids": people[:3]})
    assert added.status_code == 200
    assert "Added 3 people" in added.json()["message"]
    promoted = owner_panel.post(f"/admin/groups/{group}/members/role", {"user_ids": people[:2], "role": "admin"})
    assert promoted.status_code == 303
    assert _members(org, group) == {people[0]: "admin", people[1]: "admin", people[2]: "member"}
    # One person who is not a member refuses the whole removal: nobody is removed.
    refused = owner_panel.fetch(f"/admin/groups/{group}/members/remove", {"user_ids": [people[0], people[3]]})
    assert refused.status_code == 404
    assert len(_members(org, group)) == 3
    removed = owner_panel.fetch(f"/admin/groups/{group}/members/remove", {"user_ids": people[:2]})
    assert removed.status_code == 200
    assert _members(org, group) == {people[2]: "member"}


def test_users_page_assigns_many_to_a_group_and_filters(owner_panel: PanelSession, org: Org) -> None:
    group = org.group("Assigned")
    people = [org.user(f"assign-{i}-{org.id[:6]}@example.com") for i in range(3)]
    response = owner_panel.post("/admin/users/assign", {"user_ids": people, "group_id": group})
    assert response.status_code == 303
    assert set(_members(org, group)) == set(people)
    listing = owner_panel.get("/admin/users", params={"group_id": group})
    assert all(f'data-user-id="{p}"' in listing.text for p in people)
    assert f'data-user-id="{org.owner_id}"' not in listing.text
    searched = owner_panel.get("/admin/users", params={"q": "assign-1"})
    assert f'data-user-id="{people[1]}"' in searched.text
    assert f'data-user-id="{people[0]}"' not in searched.text


def test_user_limit_is_set_exactly(owner_panel: PanelSession, org: Org) -> None:
    person = org.user()
    assert owner_panel.post(f"/admin/users/{person}/limit", {"monthly_limit": "12.34"}).status_code == 303
    assert org.admin.get(f"/v1/manage/user/{person}").json()["user"]["monthly_limit"] == 12.34


def test_key_secret_is_shown_once_and_works(owner_panel: PanelSession, org: Org) -> None:
    response = owner_panel.post("/admin/keys", {"name": "panel-key", "monthly_limit": "5", "labels": "team=search"})
    secret = _shown_once(owner_panel, response)
    assert secret.startswith("cvy_")
    listing = owner_panel.get("/admin/keys")
    assert "panel-key" in listing.text
    assert secret not in listing.text
    itself = Api(org.admin.client, secret).get("/v1/manage/apikey/self")
    assert itself.status_code == 200
    assert itself.json()["name"] == "panel-key"
    key = next(k for k in org.admin.get("/v1/manage/apikey").json()["keys"] if k["name"] == "panel-key")
    assert key["labels"] == {"team": "search"}
    assert key["monthly_limit"] == "5"
    assert owner_panel.post(f"/admin/keys/{key['id']}/revoke").status_code == 303
    # Revoked: the management API shows it, and the gateway refuses it once its snapshot catches up.
    assert org.admin.get(f"/v1/manage/apikey/{key['id']}").json()["status"] == "revoked"


def test_a_member_cannot_open_admin_pages(browser_for: Any, org: Org, db: Any) -> None:
    member = org.user()
    password = give_password(db, member)
    panel = browser_for()
    email = org.admin.get(f"/v1/manage/user/{member}").json()["user"]["email"]
    assert panel.sign_in(email, password).status_code == 303
    assert panel.get("/admin/").headers["location"] == "/admin/me"
    for path in (
        "/admin/groups",
        "/admin/users",
        "/admin/audit",
        "/admin/analytics",
        "/admin/alerts",
        f"/admin/groups/{org.group()}",
    ):
        page = panel.get(path)
        assert page.status_code == 403, path
        assert "Not allowed" in page.text
    assert panel.get("/admin/me").status_code == 200
    # Their own keys page works, and shows only their keys.
    mine = panel.post("/admin/keys", {"name": "my-own"})
    assert mine.status_code == 303
    listing = panel.get("/admin/keys")
    assert listing.text.count('data-key-id="') == 1
    # And a change they may not make is refused by the same rules as the API.
    refused = panel.fetch("/admin/groups", {"name": "Not mine"})
    assert refused.status_code == 403


def test_a_group_admin_sees_their_subtree(browser_for: Any, org: Org, db: Any) -> None:
    top = org.group("Top")
    mine = org.group("Mine", parent_id=top)
    below = org.group("Below", parent_id=mine)
    elsewhere = org.group("Elsewhere")
    admin = org.user()
    org.add_member(mine, admin, role="admin")
    panel = browser_for()
    email = org.admin.get(f"/v1/manage/user/{admin}").json()["user"]["email"]
    assert panel.sign_in(email, give_password(db, admin)).status_code == 303
    tree = panel.get("/admin/groups")
    assert tree.status_code == 200
    assert f'data-group-id="{below}"' in tree.text
    assert f'data-group-id="{elsewhere}"' not in tree.text
    assert panel.get(f"/admin/groups/{elsewhere}").status_code == 403
    assert panel.get("/admin/audit").status_code == 403
    created = panel.post("/admin/groups", {"name": "Made by group admin", "parent_id": below})
    assert created.status_code == 303


def test_another_orgs_group_is_not_found(owner_panel: PanelSession, new_org: Any) -> None:
    other = new_org("Other")
    group = other.group("Theirs")
    page = owner_panel.get(f"/admin/groups/{group}")
    assert page.status_code == 404
    refused = owner_panel.fetch(f"/admin/groups/{group}/members/add", {"user_ids": [other.owner_id]})
    assert refused.status_code == 404


def test_budget_line_with_alert_thresholds(owner_panel: PanelSession, org: Org) -> None:
    group = org.group("Thresholds")
    added = owner_panel.post(
        f"/admin/groups/{group}/budget-lines",
        {"owner_type": "group", "period": "month", "amount": "300", "enforcement": "soft", "thresholds": "25, 75%"},
    )
    assert added.status_code == 303
    lines = org.admin.get("/v1/manage/budget", params={"owner_type": "group", "owner_id": group}).json()["budgets"]
    line = next(b for b in lines if b["source"] == "budget_line")
    assert (line["amount"], line["enforcement"], line["thresholds"]) == ("300", "soft", [25, 75])
    page = owner_panel.get(f"/admin/groups/{group}")
    assert "25%, 75%" in page.text
    removed = owner_panel.post(f"/admin/groups/{group}/budget-lines/{line['id']}/delete")
    assert removed.status_code == 303
    lines = org.admin.get("/v1/manage/budget", params={"owner_type": "group", "owner_id": group}).json()["budgets"]
    assert not [b for b in lines if b["source"] == "budget_line"]


def test_webhook_secret_shown_once_and_allocation_csv(owner_panel: PanelSession, org: Org) -> None:
    created = owner_panel.post("/admin/webhooks", {"url": "https://hooks.example.com/covey", "format": "slack"})
    secret = _shown_once(owner_panel, created)
    listing = owner_panel.get("/admin/alerts")
    assert "https://hooks.example.com/covey" in listing.text
    assert secret not in listing.text
    hooks = org.admin.get("/v1/manage/webhook").json()["webhooks"]
    assert [(h["url"], h["format"]) for h in hooks] == [("https://hooks.example.com/covey", "slack")]
    csv = owner_panel.get("/admin/analytics/allocation.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert "kind" in csv.text.splitlines()[0].split(",")


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    """Snapshots refresh and usage records are written in the background: poll until they land."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_spend_through_the_gateway_shows_on_the_group_page(owner_panel: PanelSession, org: Org) -> None:
    parent = org.group("Spend parent")
    group = org.group("Spend child", parent_id=parent)
    person = org.user(name="Spender")
    org.add_member(group, person)
    # The line before the key: once the gateway knows the key, it knows the line too.
    line = {"owner_type": "group", "owner_id": group, "amount": "0.0001", "enforcement": "soft", "thresholds": [50]}
    assert org.admin.post("/v1/manage/budget", json=line).status_code == 200
    key = org.key(person, manage="none", group_id=group)
    body = {"model": "mock/gpt-4o", "messages": [{"role": "user", "content": "hello there " * 50}]}
    answered = _eventually(lambda: key.post("/v1/chat/completions", json=body).status_code == 200)
    assert answered

    def spent_on_page() -> str | None:
        page = owner_panel.get(f"/admin/groups/{group}").text
        spent = page.split('<div class="label">Spend this month</div><div class="value">', 1)[1].split("<", 1)[0]
        return None if spent == "$0.00" else spent

    spent = _eventually(spent_on_page)
    assert spent is not None
    page = owner_panel.get(f"/admin/groups/{group}")
    # The parent is charged the same (docs/design.md §3), and the member's spend through the group shows too.
    assert spent in owner_panel.get(f"/admin/groups/{parent}").text
    assert page.text.count(spent) >= 2
    assert "mock/gpt-4o" in page.text
    analytics = owner_panel.get("/admin/analytics").text
    assert "Spend by model and month" in analytics
    assert "<td>mock/gpt-4o</td>" in analytics
    # The soft line's threshold fired an alert, shown on the alerts page and the overview.
    assert _eventually(lambda: "Spend child" in owner_panel.get("/admin/alerts").text.split("<h2>Webhooks")[0])
    assert "Spend child" in owner_panel.get("/admin/").text.split("Recent alerts", 1)[1]


def test_a_new_password_from_the_users_page_signs_them_in(
    owner_panel: PanelSession, browser_for: Any, org: Org
) -> None:
    person = org.user(role="admin")
    email = org.admin.get(f"/v1/manage/user/{person}").json()["user"]["email"]
    password = _shown_once(owner_panel, owner_panel.post(f"/admin/users/{person}/password"))
    assert browser_for().sign_in(email, password).status_code == 303
    events = org.admin.get("/v1/manage/audit", params={"action": "user.password.reset", "target_id": person}).json()
    assert events["total"] == 1
    assert password not in str(events)


def test_group_settings_features_and_access_list(owner_panel: PanelSession, org: Org) -> None:
    group = org.group("Configurable", features={"prompt_library": False})
    lists = org.admin.post("/v1/manage/access-list", json={"name": f"gpt-only-{group[:6]}", "chat": ["mock/gpt-4o"]})
    assert lists.status_code == 200, lists.text
    list_id = lists.json()["id"]
    saved = owner_panel.post(
        f"/admin/groups/{group}/features",
        {"feature_streaming": "off", "feature_tools": "on", "feature_reasoning": "inherit"},
    )
    assert saved.status_code == 303
    assert owner_panel.post(f"/admin/groups/{group}/access-list", {"access_list_id": list_id}).status_code == 303
    settings = owner_panel.post(
        f"/admin/groups/{group}/settings",
        {"name": "Configured", "kind": "project", "description": "Set in the panel", "expires_at": "2031-01-02T03:04"},
    )
    assert settings.status_code == 303
    got = org.admin.get(f"/v1/manage/group/{group}").json()["group"]
    # The switch the form does not show is kept.
    assert got["features"] == {"prompt_library": False, "streaming": False, "tools": True}
    assert got["access_list_id"] == list_id
    assert (got["name"], got["kind"], got["description"]) == ("Configured", "project", "Set in the panel")
    assert got["expires_at"].startswith("2031-01-02T03:04")
    bad = owner_panel.post(
        f"/admin/groups/{group}/settings",
        {"name": "Renamed", "kind": "project", "expires_at": "soon"},
        headers={"Referer": f"http://testserver/admin/groups/{group}"},
    )
    assert bad.status_code == 303
    assert "is not a date and time" in owner_panel.get(bad.headers["location"]).text
    assert org.admin.get(f"/v1/manage/group/{group}").json()["group"]["name"] == "Configured"


def test_change_a_keys_limit_labels_and_expiry(owner_panel: PanelSession, org: Org) -> None:
    key = next(k for k in org.admin.get("/v1/manage/apikey").json()["keys"])
    path = f"/admin/keys/{key['id']}"
    assert owner_panel.post(f"{path}/limit", {"monthly_limit": "7.25"}).status_code == 303
    assert owner_panel.post(f"{path}/labels", {"labels": "team=search, env=prod"}).status_code == 303
    assert owner_panel.post(f"{path}/expiry", {"expires_on": "2031-05-06"}).status_code == 303
    got = org.admin.get(f"/v1/manage/apikey/{key['id']}").json()
    assert got["monthly_limit"] == "7.25"
    assert got["labels"] == {"team": "search", "env": "prod"}
    assert got["expires_at"].startswith("2031-05-06T00:00:00")
    refused = owner_panel.post(
        f"{path}/labels", {"labels": "no-equals-sign"}, headers={"Referer": "http://testserver/admin/keys"}
    )
    assert refused.status_code == 303
    assert "is not name=value" in owner_panel.get("/admin/keys").text
    assert org.admin.get(f"/v1/manage/apikey/{key['id']}").json()["labels"] == {"team": "search", "env": "prod"}
    assert owner_panel.post(f"{path}/expiry", {"expires_on": ""}).status_code == 303
    assert org.admin.get(f"/v1/manage/apikey/{key['id']}").json()["expires_at"] is None


def test_group_page_shows_and_edits_rate_limits_and_guardrails(owner_panel: PanelSession, org: Org) -> None:
    group_id = org.group("Limited")
    form = {
        "requests_per_minute": "60",
        "tokens_per_minute": "100,000",
        "concurrent": "",
        "member_requests_per_minute": "10",
        "guardrail_pii": "mask",
        "guardrail_secrets": "block",
        "guardrail_financial": "off",
    }
    assert owner_panel.post(f"/admin/groups/{group_id}/policies", form).status_code == 303
    got = org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]
    assert got["rate_limits"] == {"requests_per_minute": 60, "tokens_per_minute": 100000, "concurrent": None}
    assert got["rate_limits_per_member"]["requests_per_minute"] == 10
    assert got["guardrails"] == {"pii": "mask", "secrets": "block"}
    page = owner_panel.get(f"/admin/groups/{group_id}").text
    assert 'name="requests_per_minute" inputmode="numeric"' in page and 'value="60"' in page
    assert '<option value="block" selected>block</option>' in page
    bad = owner_panel.post(
        f"/admin/groups/{group_id}/policies",
        {"requests_per_minute": "lots"},
        headers={"Referer": f"http://testserver/admin/groups/{group_id}"},
    )
    assert "requests_per_minute: &#39;lots&#39; is not a whole number" in owner_panel.get(bad.headers["location"]).text
    assert org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]["rate_limits"]["requests_per_minute"] == 60


def test_group_page_edits_caching_beside_its_limits(owner_panel: PanelSession, org: Org) -> None:
    group_id = org.group("Cached")
    assert org.admin.patch(f"/v1/manage/group/{group_id}", json={"features": {"tools": False}}).status_code == 200
    page = owner_panel.get(f"/admin/groups/{group_id}").text
    policies = page[page.index('id="policies"') :]
    assert 'name="auto_caching"' in policies and '<option value="inherit" selected>inherit</option>' in policies
    form = {"requests_per_minute": "30", "auto_caching": "on"}
    assert owner_panel.post(f"/admin/groups/{group_id}/policies", form).status_code == 303
    got = org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]
    assert got["features"] == {"tools": False, "auto_caching": True}  # other switches kept
    assert got["rate_limits"]["requests_per_minute"] == 30
    policies = owner_panel.get(f"/admin/groups/{group_id}").text.split('id="policies"')[1]
    assert '<option value="on" selected>on</option>' in policies
    assert owner_panel.post(f"/admin/groups/{group_id}/policies", {"auto_caching": "off"}).status_code == 303
    assert org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]["features"] == {
        "tools": False,
        "auto_caching": False,
    }
    assert owner_panel.post(f"/admin/groups/{group_id}/policies", {"auto_caching": "inherit"}).status_code == 303
    assert org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]["features"] == {"tools": False}


def test_key_page_edits_rate_limits_guardrails_and_caching(owner_panel: PanelSession, org: Org) -> None:
    made = org.admin.post("/v1/manage/apikey", json={"name": "tuned"}).json()
    form = {"requests_per_minute": "5", "concurrent": "2", "guardrail_pii": "mask", "auto_caching": "on"}
    assert owner_panel.post(f"/admin/keys/{made['api_key_id']}/policies", form).status_code == 303
    key = org.admin.get(f"/v1/manage/apikey/{made['api_key_id']}").json()
    assert key["rate_limits"] == {"requests_per_minute": 5, "tokens_per_minute": None, "concurrent": 2}
    assert key["guardrails"] == {"pii": "mask"} and key["features"] == {"auto_caching": True}
    listing = owner_panel.get("/admin/keys").text
    assert "5/min · 2 at once · pii mask · caching" in listing
    assert (
        owner_panel.post(f"/admin/keys/{made['api_key_id']}/policies", {"auto_caching": "inherit"}).status_code == 303
    )
    key = org.admin.get(f"/v1/manage/apikey/{made['api_key_id']}").json()
    assert key["features"] == {} and key["rate_limits"]["requests_per_minute"] is None


def test_a_secret_shown_once_belongs_to_its_session_and_its_page(
    owner_panel: PanelSession, browser_for: Any, org: Org, db: Any
) -> None:
    created = owner_panel.post("/admin/keys", {"name": "once-key"})
    assert created.status_code == 303
    handed = owner_panel.jar["covey_once"]
    # Another page does not take it, and another session cannot read it.
    assert "new-secret" not in owner_panel.get("/admin/alerts").text
    colleague = org.user(role="admin")
    other = browser_for()
    email = org.admin.get(f"/v1/manage/user/{colleague}").json()["user"]["email"]
    assert other.sign_in(email, give_password(db, colleague)).status_code == 303
    other.jar["covey_once"] = handed
    assert "new-secret" not in other.get("/admin/keys").text
    tampered = handed.replace(handed[-4:], "0000")
    owner_panel.jar["covey_once"] = tampered
    assert "new-secret" not in owner_panel.get("/admin/keys").text
    owner_panel.jar["covey_once"] = handed
    assert "new-secret" in owner_panel.get("/admin/keys").text
    assert "new-secret" not in owner_panel.get("/admin/keys").text


def test_an_expired_key_keeps_its_menu_and_can_be_extended(owner_panel: PanelSession, org: Org) -> None:
    key = org.key(org.owner_id, manage="read")
    key_id = key.get("/v1/manage/apikey/self").json()["id"]
    past = {"expires_at": "2001-01-01T00:00:00Z"}
    assert org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json=past).status_code == 204
    listing = owner_panel.get("/admin/keys").text
    row = listing.split(f'data-key-id="{key_id}"', 1)[1].split("</tr>", 1)[0]
    assert f"/admin/keys/{key_id}/revoke" in row
    assert f"/admin/keys/{key_id}/expiry" in row
    # The edit form, like the create form, refuses a day that is not after today, in plain words.
    refused = owner_panel.post(
        f"/admin/keys/{key_id}/expiry",
        {"expires_on": "2020-01-01"},
        headers={"Referer": "http://testserver/admin/keys"},
    )
    assert refused.status_code == 303
    assert "Expires on: pick a day after today" in owner_panel.get("/admin/keys").text
    made = owner_panel.post(
        "/admin/keys",
        {"name": "past-key", "expires_on": "2020-01-01"},
        headers={"Referer": "http://testserver/admin/keys"},
    )
    assert made.status_code == 303
    assert "Expires on: pick a day after today" in owner_panel.get("/admin/keys").text
    assert owner_panel.post(f"/admin/keys/{key_id}/expiry", {"expires_on": "2090-01-01"}).status_code == 303
    assert org.admin.get(f"/v1/manage/apikey/{key_id}").json()["status"] == "active"
    assert key.get("/v1/manage/apikey/self").status_code == 200
