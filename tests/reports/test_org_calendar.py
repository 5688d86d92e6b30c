"""One calendar: for an org in America/Los_Angeles, a month's spend is the same figure in the budget
counters, the reports and the panel, to the nano-dollar; a request at 03:00 UTC on the 1st belongs to
the last day of the month before. Requesty's usage endpoints stay in UTC periods.

The rows are placed around the start of the org's current month, worked out from the clock the app
itself reads, so the budget line's "this month" is the month the rows are in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from covey.budgets.periods import add_months, month_bounds, month_key, month_of
from covey.kit.db import Database
from covey.kit.money import nanos_to_text
from tests.admin.conftest import PanelSession
from tests.conftest import Org
from tests.reports.usage_factory import Company, Member, company, usage, write

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
_SPEND = re.compile(r'data-spend-nanos="(\d+)"')


def _row(c: Company, member: Member, group: str | None, *, cost: int, at: datetime) -> dict[str, Any]:
    return usage(
        org_id=c.org.id, key_id=member.key_id, user_id=member.user_id, charged=c.charged(group), at=at, cost=cost
    )


def _seeded(org: Org, db: Database) -> tuple[Company, datetime, datetime]:
    response = org.admin.patch("/v1/manage/org", json={"timezone": "America/Los_Angeles"})
    assert response.status_code == 200, response.text
    c = company(org)
    for group_id in (c.backend, c.frontend, c.sales):  # Engineering has its own, $100
        assert org.admin.patch(f"/v1/manage/group/{group_id}", json={"monthly_budget": "1000"}).status_code == 200
    this = month_of(datetime.now(UTC), LOS_ANGELES)
    start, _ = month_bounds(this, LOS_ANGELES)  # 08:00 or 07:00 UTC on the 1st
    # The last evening of last month in Los Angeles, already the 1st in UTC (03:00 UTC in winter).
    last_evening = start - timedelta(hours=5)
    assert last_evening.astimezone(UTC).day == 1 and last_evening.astimezone(LOS_ANGELES).day != 1
    write(
        db,
        [
            _row(c, c.dana_backend, c.backend, cost=1_000_000_001, at=last_evening),
            _row(c, c.dana_frontend, c.frontend, cost=20_000_003, at=last_evening + timedelta(minutes=10)),
            _row(c, c.dana_backend, c.backend, cost=300_000_007, at=start),
            _row(c, c.dana_frontend, c.frontend, cost=4_000_000_011, at=start + timedelta(hours=1)),
            _row(c, c.eve_personal, None, cost=55_000_013, at=start + timedelta(minutes=1)),
            _row(c, c.sam_sales, c.sales, cost=600_000_017, at=last_evening),
        ],
    )
    # The counters are kept by the gateway as it serves; rows written behind its back are brought in the
    # way `covey doctor --repair` does: set to the usage records' sums for this period.
    repaired = org.admin.post("/v1/manage/doctor/repair")
    assert repaired.status_code == 200, repaired.text
    return c, start, last_evening


def _budget_spend(org: Org, group_id: str) -> str:
    response = org.admin.get("/v1/manage/budget", params={"owner_type": "group", "owner_id": group_id})
    assert response.status_code == 200, response.text
    (line,) = [b for b in response.json()["budgets"] if b["period"] == "month"]
    return str(line["current_spend"])


def _panel_spend(panel: PanelSession, group_id: str) -> tuple[str, str]:
    page = panel.get(f"/admin/groups/{group_id}")
    assert page.status_code == 200, page.text
    found = _SPEND.search(page.text)
    assert found is not None, "the group page carries its month's spend in nano-dollars"
    month = re.search(r'data-spend-month="([0-9-]+)"', page.text)
    assert month is not None
    return nanos_to_text(int(found.group(1))), month.group(1)


def test_a_month_is_the_orgs_month_in_budgets_reports_and_the_panel(org: Org, db: Database, client: Any) -> None:
    c, start, _ = _seeded(org, db)
    this = month_key(month_of(start, LOS_ANGELES))
    panel = PanelSession(client)
    assert panel.sign_in(org.owner_email, org.password).status_code == 303

    tree = org.admin.get("/v1/manage/report/group-tree").json()
    assert tree["month"] == this
    nodes = {n["group_id"]: n["spend"] for n in tree["nodes"]}
    # This month: only what came at and after midnight in Los Angeles.
    assert nodes[c.backend] == "0.300000007"
    assert nodes[c.engineering] == "4.300000018"
    assert nodes[c.sales] == "0"
    assert tree["org_total"] == "4.355000031"

    spend = {g["group_id"]: g for g in org.admin.get("/v1/manage/report/group-spend").json()["groups"]}
    for group_id in (c.engineering, c.backend, c.frontend, c.sales):
        assert _budget_spend(org, group_id) == nodes[group_id]
        assert _panel_spend(panel, group_id) == (nodes[group_id], this)
        assert spend[group_id]["month_to_date"] == nodes[group_id]
    report = org.admin.get(f"/v1/manage/report/group/{c.engineering}").json()
    assert report["month"] == this and report["totals"]["spend"] == nodes[c.engineering]


def test_the_evening_before_the_first_belongs_to_the_month_before(org: Org, db: Database) -> None:
    c, start, _ = _seeded(org, db)
    last = month_key(add_months(month_of(start, LOS_ANGELES), -1))
    tree = org.admin.get("/v1/manage/report/group-tree", params={"month": last}).json()
    nodes = {n["group_id"]: n["spend"] for n in tree["nodes"]}
    assert nodes[c.backend] == "1.000000001"
    assert nodes[c.engineering] == "1.020000004"
    assert nodes[c.sales] == "0.600000017"
    assert tree["org_total"] == "1.620000021"
    allocation = org.admin.get("/v1/manage/report/allocation", params={"month": last}).json()
    assert allocation["org_total_nanos"] == 1_620_000_021


def test_requestys_usage_endpoint_answers_in_utc_days(org: Org, db: Database) -> None:
    """The same rows by UTC day: the evening before lands on the 1st (UTC), with the morning after."""
    _, start, last_evening = _seeded(org, db)
    first_utc = datetime(start.year, start.month, start.day, tzinfo=UTC)
    assert last_evening.astimezone(UTC).date() == first_utc.date()
    params = {"start": (first_utc - timedelta(days=1)).isoformat(), "end": (first_utc + timedelta(days=1)).isoformat()}
    response = org.admin.get("/v1/manage/org/usage", params={**params, "resolution": "day"})
    assert response.status_code == 200, response.text
    days = response.json()["usage"]
    label = first_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert round(days[label]["spend"], 9) == 5.975000052
    assert days[label]["total_requests"] == 6
    assert sum(d["total_requests"] for d in days.values()) == 6
