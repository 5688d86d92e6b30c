"""Analytics: subgroups under their parents, indented, each row with a small chart of its months."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from covey.kit.db import Database
from tests.admin.conftest import PanelSession
from tests.conftest import Org
from tests.reports.usage_factory import Company, company, usage, write


def _spent(org: Org, db: Database, *, frontend: int) -> Company:
    """The company of tests/reports, in which Sam has just spent $9 through Sales and Dana `frontend`
    (in nanos) through Engineering › Frontend."""
    c = company(org)
    now = datetime.now(UTC)
    spent = ((c.sam_sales, c.sales, 9_000_000_000), (c.dana_frontend, c.frontend, frontend))
    write(
        db,
        [
            usage(org_id=org.id, key_id=m.key_id, user_id=m.user_id, charged=c.charged(group), at=now, cost=cost)
            for m, group, cost in spent
        ],
    )
    return c


def test_subgroups_follow_their_parent_indented_with_a_bar_per_month(
    owner_panel: PanelSession, org: Org, db: Database
) -> None:
    c = _spent(org, db, frontend=2_000_000_000)
    page = owner_panel.get("/admin/analytics").text
    rows = re.findall(r'<tr data-group-id="([^"]+)" data-depth="(\d)">', page)
    order = [gid for gid, _ in rows]
    # Sales spent most, so it leads; Engineering's subgroups come right after it, Frontend (spent) first.
    assert order == [c.sales, c.engineering, c.frontend, c.backend]
    assert dict(rows) == {c.sales: "0", c.engineering: "0", c.frontend: "1", c.backend: "1"}
    row = page[page.index(f'<tr data-group-id="{c.frontend}"') :]
    row = row[: row.index("</tr>")]
    assert "padding-left: 26px" in row
    bars = re.findall(r'<rect x="[^"]+" y="[^"]+" width="8" height="([^"]+)"', row)
    assert len(bars) == 6 and float(bars[-1]) > 0 and all(float(h) == 0 for h in bars[:-1])
    assert "$2.00" in row


def test_the_indented_analytics_in_the_browser(owner_page: Any, base_url: str, org: Org) -> None:
    top = org.group("Analytics top")
    child = org.group("Analytics child", parent_id=top)
    page = owner_page
    page.goto(f"{base_url}/admin/analytics")
    parent_left = page.locator(f"tr[data-group-id='{top}'] a").bounding_box()["x"]
    child_left = page.locator(f"tr[data-group-id='{child}'] a").bounding_box()["x"]
    assert child_left > parent_left + 10
    assert page.locator(f"tr[data-group-id='{child}'] svg.spark rect").count() == 6


def test_top_level_groups_compared_month_by_month_on_one_scale(
    owner_panel: PanelSession, org: Org, db: Database
) -> None:
    _spent(org, db, frontend=3_000_000_000)
    page = owner_panel.get("/admin/analytics").text
    figure = page[page.index('<figure class="chart comparison">') :]
    figure = figure[: figure.index("</figure>")]
    series = re.findall(r'<g class="series-(\d)" data-series="([^"]+)">(.*?)</g>', figure, re.S)
    # Only top-level groups, the biggest spender first; subgroups count in their parent's bars.
    assert [name.split()[0] for _, name, _ in series] == ["Sales", "Engineering"]
    heights = {name.split()[0]: [float(h) for h in re.findall(r'height="([^"]+)"', bars)] for _, name, bars in series}
    assert all(len(h) == 6 for h in heights.values())
    assert heights["Engineering"][-1] > 0
    assert abs(heights["Sales"][-1] - 3 * heights["Engineering"][-1]) < 1e-6  # one scale: $9 against $3
    assert all(h == 0 for h in heights["Sales"][:-1])
    assert re.search(r"<title>Sales[^,<]*, [A-Z][a-z]{2} \d\d: \$9\.00</title>", figure)
    assert "Engineering" in figure[figure.index('class="legend"') :]
