"""A key's Edit menu in Chromium: a past expiry is refused in plain words and the key keeps its menu."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org


def test_a_past_expiry_from_the_edit_menu_is_refused_and_the_key_keeps_its_menu(
    owner_page: Any, base_url: str, org: Org
) -> None:
    org.key(name="expiry-menu")
    key_id = next(k["id"] for k in org.admin.get("/v1/manage/apikey").json()["keys"] if k["name"] == "expiry-menu")
    page = owner_page
    page.goto(f"{base_url}/admin/keys")
    row = page.locator(f"tr[data-key-id='{key_id}']")
    row.locator("summary").click()
    day = row.locator("input[name=expires_on]")
    day.fill("2020-01-01")
    day.locator("xpath=ancestor::form").locator("button[type=submit]").click()
    # Chromium holds the form back itself (the field's minimum is tomorrow) and says why.
    assert day.evaluate("el => !el.validity.valid && el.validity.rangeUnderflow")
    assert page.url.endswith("/admin/keys")
    # Sent anyway (a browser that ignores the minimum): the server refuses it in plain words.
    day.evaluate("el => el.removeAttribute('min')")
    day.fill("2020-01-01")
    day.locator("xpath=ancestor::form").locator("button[type=submit]").click()
    page.wait_for_selector(".notice.error")
    assert (
        "Expires on: pick a day after today (UTC). To stop a key now, revoke it."
        in page.locator(".notice").inner_text()
    )
    got = org.admin.get(f"/v1/manage/apikey/{key_id}").json()
    assert (got["status"], got["expires_at"]) == ("active", None)
    row = page.locator(f"tr[data-key-id='{key_id}']")
    row.locator("summary").click()
    assert row.locator(f"form[action='/admin/keys/{key_id}/revoke'] button").is_visible()
