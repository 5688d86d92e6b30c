"""A reload repeats nothing: every change in the panel answers with a redirect (post/redirect/get), so
F5 on the page it lands on is a plain GET; the sign-in form's token is good for one try."""

from __future__ import annotations

import uuid
from typing import Any

from covey.models import User
from tests.admin.conftest import PanelSession
from tests.conftest import Org


def _reload(page: Any) -> None:
    """F5, and what the browser did: a GET of the page the change landed on."""
    response = page.reload()
    assert response.request.method == "GET"
    page.wait_for_load_state()


def _names(org: Org, path: str, field: str) -> list[str]:
    listed = org.admin.get(f"/v1/manage/{path}").json()
    return [item[field] for item in next(v for v in listed.values() if isinstance(v, list))]


def test_f5_after_each_create_repeats_nothing(owner_page: Any, base_url: str, org: Org, db: Any) -> None:
    page = owner_page
    tag = uuid.uuid4().hex[:6]

    page.goto(f"{base_url}/admin/groups")
    page.fill("form[action='/admin/groups'] input[name=name]", f"Reload {tag}")
    page.click("text=Create group")
    page.wait_for_selector(".notice")
    _reload(page)
    assert _names(org, "group", "name").count(f"Reload {tag}") == 1

    page.fill("form:has(input[name=parent_id]) input[name=name]", f"Reload child {tag}")
    page.click("text=Create subgroup")
    page.wait_for_selector(".notice")
    _reload(page)
    assert _names(org, "group", "name").count(f"Reload child {tag}") == 1

    group = next(g["id"] for g in org.admin.get("/v1/manage/group").json()["groups"] if g["name"] == f"Reload {tag}")
    page.goto(f"{base_url}/admin/groups/{group}")
    page.fill("input[name=amount]", "40")
    page.click("text=Add budget line")
    page.wait_for_selector(".notice")
    _reload(page)
    lines = org.admin.get(f"/v1/manage/budget?owner_type=group&owner_id={group}").json()
    assert len(next(v for v in lines.values() if isinstance(v, list))) == 1

    person = org.user(f"reload-{tag}@example.com", name=f"Reload Person {tag}")
    page.click("text=Add members")
    page.fill("#member-search", f"reload-{tag}")
    page.check(f"#member-results input[value='{person}']")
    page.click("#add-selected")
    page.wait_for_selector(f"tr.member[data-user-id='{person}']")
    _reload(page)
    members = org.admin.get(f"/v1/manage/group/{group}").json()["group"]["members"]
    assert [m["id"] for m in members] == [person]

    page.goto(f"{base_url}/admin/keys")
    page.fill("form[action='/admin/keys'] input[name=name]", f"reload-key-{tag}")
    page.click("text=Create key")
    secret = page.input_value("#new-secret")
    _reload(page)
    assert _names(org, "apikey", "name").count(f"reload-key-{tag}") == 1
    assert secret not in page.content()  # shown once, not again on the reload

    page.goto(f"{base_url}/admin/alerts")
    page.fill("form[action='/admin/webhooks'] input[name=url]", f"https://hooks.example.com/{tag}")
    page.click("text=Add webhook")
    page.wait_for_selector("#new-secret")
    _reload(page)
    assert _names(org, "webhook", "url").count(f"https://hooks.example.com/{tag}") == 1

    page.goto(f"{base_url}/admin/users")
    page.fill("form[action='/admin/users'] input[name=email]", f"new-{tag}@example.com")
    page.click("text=Create user")
    page.wait_for_selector(".notice")
    _reload(page)
    assert page.locator(".notice.error").count() == 0
    assert _names(org, "user", "email").count(f"new-{tag}@example.com") == 1

    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base_url}/admin/users?q=reload-{tag}")
    page.locator("tr", has_text=f"reload-{tag}@example.com").locator("text=New password").click()
    page.wait_for_selector("#new-secret")
    with db.transaction() as session:
        first = session.get(User, person).password_hash
    _reload(page)
    with db.transaction() as session:
        assert session.get(User, person).password_hash == first  # the password given stays the one


def test_reloading_a_failed_sign_in_is_not_another_try(browser_for: Any, org: Org) -> None:
    panel: PanelSession = browser_for()
    form = panel.get("/admin/sign-in")
    token = panel.jar["covey_signin_csrf"]
    assert token in form.text
    tried = {"email": org.owner_email, "password": "wrong", "csrf_token": token}
    failed = panel.post("/admin/sign-in", tried, csrf=False)
    assert failed.status_code == 401
    assert panel.jar["covey_signin_csrf"] != token  # the page that answered carries a new token
    for _ in range(6):  # F5 on that page sends the used form again
        again = panel.post("/admin/sign-in", tried, csrf=False)
        assert again.status_code == 403
        assert "This form expired" in again.text
    # Six reloads counted as nothing: one failure, far from the lock-out.
    assert panel.sign_in(org.owner_email, org.password).status_code == 303
