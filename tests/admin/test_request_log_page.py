"""The request log page: the same rights and filters as `GET /v1/manage/request`, names instead of ids,
content only while the key logs, paging; and in Chromium, filtering down to one key's requests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from covey.kit.db import Database
from covey.models import UsageRecord
from tests.admin.browser import sign_in
from tests.admin.conftest import PanelSession, give_password
from tests.conftest import Org
from tests.reports.usage_factory import Company, company, usage, write

NOW = datetime.now(UTC).replace(microsecond=0)


def _write(c: Company, db: Database, member: Any, group: str | None, n: int = 1, **fields: Any) -> list[str]:
    records = [
        usage(
            org_id=c.org.id,
            key_id=member.key_id,
            user_id=member.user_id,
            charged=c.charged(group),
            at=NOW - timedelta(minutes=30 - i),
            **fields,
        )
        for i in range(n)
    ]
    write(db, records)
    return [str(r["id"]) for r in records]


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-request-id="([^"]+)"', html)


def test_the_log_names_people_keys_and_groups_and_pages(owner_panel: PanelSession, org: Org, db: Database) -> None:
    c = company(org)
    ids = _write(c, db, c.dana_backend, c.backend, n=3, cost=766_620, features=["tools"])
    page = owner_panel.get("/admin/requests", params={"limit": 2})
    assert page.status_code == 200
    assert _rows(page.text) == [ids[2], ids[1]]
    row = page.text[page.text.index(f'data-request-id="{ids[2]}"') :]
    row = row[: row.index("</tr>")]
    email = org.admin.get(f"/v1/manage/user/{c.dana_backend.user_id}").json()["user"]["email"]
    assert email in row
    assert "Engineering" in row and "› Backend" in row
    assert "$0.00077" in row and "tools" in row and "100 / 50" in row
    older = re.search(r'href="([^"]+)">Older</a>', page.text)
    assert older is not None
    second = owner_panel.get(older.group(1).replace("&amp;", "&"))
    assert _rows(second.text) == [ids[0]]
    assert owner_panel.get("/admin/requests", params={"limit": 0}).status_code == 400
    assert owner_panel.get("/admin/requests", params={"start": "soon"}).status_code == 400


def test_content_shows_only_while_the_key_logs(owner_panel: PanelSession, org: Org, db: Database) -> None:
    c = company(org)
    (kept,) = _write(c, db, c.eve_personal, None)
    with db.transaction() as session:
        record = session.get(UsageRecord, kept)
        assert record is not None
        record.request_body = '{"messages": "the plan"}'
    hidden = owner_panel.get(f"/admin/requests/{kept}")
    assert hidden.status_code == 200
    assert "the plan" not in hidden.text and "logging is off" in hidden.text
    org.admin.patch(f"/v1/manage/apikey/{c.eve_personal.key_id}", json={"logging": True})
    shown = owner_panel.get(f"/admin/requests/{kept}")
    assert "the plan" in shown.text


def test_members_read_their_own_and_group_admins_their_subtree(
    browser_for: Any, org: Org, db: Database, new_org: Any
) -> None:
    c = company(org)
    backend = _write(c, db, c.dana_backend, c.backend)
    sales = _write(c, db, c.sam_sales, c.sales)
    personal = _write(c, db, c.eve_personal, None)

    def panel_of(user_id: str) -> PanelSession:
        panel: PanelSession = browser_for()
        email = org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["email"]
        assert panel.sign_in(email, give_password(db, user_id)).status_code == 303
        return panel

    eve = panel_of(c.eve_personal.user_id)
    assert _rows(eve.get("/admin/requests").text) == personal
    assert eve.get(f"/admin/requests/{sales[0]}").status_code == 404
    lead = org.user()
    org.add_member(c.engineering, lead, role="admin")
    assert _rows(panel_of(lead).get("/admin/requests").text) == backend
    other = new_org("Elsewhere")
    outsider: PanelSession = browser_for()
    assert outsider.sign_in(other.owner_email, other.password).status_code == 303
    assert _rows(outsider.get("/admin/requests").text) == []
    assert outsider.get(f"/admin/requests/{backend[0]}").status_code == 404


def test_filter_the_log_to_one_key_in_the_browser(page: Any, base_url: str, org: Org, db: Database) -> None:
    c = company(org)
    mine = _write(c, db, c.dana_frontend, c.frontend, model="mock/claude")
    _write(c, db, c.dana_backend, c.backend)
    sign_in(page, base_url, org.owner_email, org.password)
    page.click("nav >> text=Requests")
    page.wait_for_url(re.compile(r"/admin/requests$"))
    assert page.locator("tr[data-request-id]").count() == 2
    page.select_option("select[name=api_key_id]", c.dana_frontend.key_id)
    page.click("text=Filter")
    page.wait_for_url(re.compile(r"api_key_id="))
    assert page.locator("tr[data-request-id]").evaluate_all("rows => rows.map(r => r.dataset.requestId)") == mine
    page.click(f"tr[data-request-id='{mine[0]}'] >> text=details")
    assert "mock/claude" in page.locator("h1").inner_text()
