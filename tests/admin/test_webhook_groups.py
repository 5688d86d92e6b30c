"""The alerts page: a webhook may take one group's alerts (picked by path), the list shows whose
alerts each takes, and each delivery names its webhook."""

from __future__ import annotations

import html
from typing import Any

from covey.alerts.dispatcher import Dispatcher
from covey.config import Settings
from covey.kit.db import Database
from tests.admin.conftest import PanelSession
from tests.alerts.test_delivery import group_line, run_dispatchers
from tests.conftest import Org


def test_add_a_webhook_for_a_group_and_see_its_deliveries(
    owner_panel: PanelSession, org: Org, db: Database, settings: Settings
) -> None:
    eng = org.group("Eng")
    backend = org.group("Backend", parent_id=eng)
    doomed = org.group("Doomed")
    page = html.unescape(owner_panel.get("/admin/alerts").text)
    assert f'<option value="{backend}">Eng › Backend and its subgroups</option>' in page

    for url, group in (
        ("https://team.invalid/hook", backend),
        ("https://all.invalid/hook", ""),
        ("https://doomed.invalid/hook", doomed),
        ("https://gone.invalid/hook", ""),
    ):
        created = owner_panel.post("/admin/webhooks", {"url": url, "format": "generic", "group_id": group})
        assert created.status_code == 303, created.text
    hooks = {h["url"]: h for h in org.admin.get("/v1/manage/webhook").json()["webhooks"]}
    assert hooks["https://team.invalid/hook"]["group_id"] == backend
    assert hooks["https://all.invalid/hook"]["group_id"] is None
    refused = owner_panel.fetch("/admin/webhooks", {"url": "https://x.invalid/", "group_id": "no-such-group"})
    assert refused.status_code == 404
    assert "no-such-group" in refused.json()["error"]["message"]
    assert len(org.admin.get("/v1/manage/webhook").json()["webhooks"]) == 4

    def feed(dispatchers: list[Dispatcher]) -> None:
        line = group_line(org, backend, "Backend")
        dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)

    # The hosts do not resolve: every attempt is refused, and logged.
    run_dispatchers(db, settings, 1, feed)
    assert org.admin.delete(f"/v1/manage/webhook/{hooks['https://gone.invalid/hook']['id']}").status_code == 204
    assert org.admin.delete(f"/v1/manage/group/{doomed}").status_code in (200, 204)

    page = html.unescape(owner_panel.get("/admin/alerts").text)
    fired, listed = page.split("<h2>Webhooks", 1)
    assert 'https://team.invalid/hook</span> <span class="muted">· Eng › Backend' in fired
    assert 'https://all.invalid/hook</span> <span class="muted">· whole organization' in fired
    assert "deleted webhook" in fired
    assert "https://doomed.invalid" not in fired
    for url, scope in (
        ("https://team.invalid/hook", "Eng › Backend"),
        ("https://all.invalid/hook", "whole organization"),
        ("https://doomed.invalid/hook", "deleted group"),
    ):
        assert f'{url}</td><td class="small">{scope}</td>' in listed


def test_a_group_webhook_added_in_the_browser_once_whatever_the_reloads(
    owner_page: Any, base_url: str, org: Org
) -> None:
    eng = org.group("Hooked Eng")
    backend = org.group("Hooked Backend", parent_id=eng)
    page = owner_page
    page.goto(f"{base_url}/admin/alerts")
    page.fill("input[name=url]", "https://backend-team.invalid/hook")
    page.select_option("select[name=group_id]", backend)
    page.click("button:has-text('Add webhook')")
    page.wait_for_url(f"{base_url}/admin/alerts*")
    assert (
        page.locator("tr", has_text="https://backend-team.invalid/hook")
        .first.inner_text()
        .count("Hooked Eng › Hooked Backend")
        == 1
    )
    page.reload()  # F5 after adding: nothing is added twice
    hooks = [h for h in org.admin.get("/v1/manage/webhook").json()["webhooks"] if "backend-team" in h["url"]]
    assert [h["group_id"] for h in hooks] == [backend]
