"""Covey's reports over HTTP: subtree totals without double counting, cost allocation to the
nano-dollar, CSV equal to JSON, and who may read what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from covey.kit.db import Database
from covey.pricing.prices import UnitPrices
from covey.reports import export
from tests.conftest import Org
from tests.reports.usage_factory import Company, Member, company, month_start, usage, write

AUGUST = datetime(2026, 8, 7, 10, tzinfo=UTC)


def _spend(company_: Company, member: Member, group: str | None, *, cost: int, at: datetime, **kw: Any) -> Any:
    return usage(
        org_id=company_.org.id,
        key_id=member.key_id,
        user_id=member.user_id,
        charged=company_.charged(group),
        at=at,
        cost=cost,
        **kw,
    )


def _seed(org: Org, db: Database, at: datetime = AUGUST) -> Company:
    c = company(org)
    write(
        db,
        [
            _spend(c, c.dana_backend, c.backend, cost=1_000_000_001, at=at, features=["streaming", "tools"]),
            _spend(c, c.dana_backend, c.backend, cost=2, at=at + timedelta(hours=1), model="mock/gpt-4o-mini"),
            _spend(c, c.dana_frontend, c.frontend, cost=300_000_000, at=at, features=["reasoning"]),
            _spend(
                c, c.sam_sales, c.sales, cost=7_777, at=at, endpoint="embeddings", model="mock/text-embedding-3-small"
            ),
            _spend(c, c.eve_personal, None, cost=123_456_789, at=at),
            _spend(c, c.dana_backend, c.backend, cost=0, at=at, status=502),
        ],
    )
    return c


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def test_a_group_counts_its_subtree_once_even_when_a_user_is_in_two_subgroups(org: Org, db: Database) -> None:
    c = _seed(org, db)
    tree = org.admin.get("/v1/manage/report/group-tree", params={"month": "2026-08"}).json()
    nodes = {n["group_id"]: n for n in tree["nodes"]}
    assert nodes[c.backend]["spend"] == "1.000000003"
    assert nodes[c.frontend]["spend"] == "0.3"
    # Dana's requests through both subgroups, each once: 1.000000003 + 0.3.
    assert nodes[c.engineering]["spend"] == "1.300000003"
    assert nodes[c.engineering]["requests"] == 4
    assert nodes[c.backend]["share_of_parent"] == "0.7692"
    assert nodes[c.sales]["spend"] == "0.000007777"
    assert tree["org_total"] == "1.423464569"
    assert [n["depth"] for n in tree["nodes"] if n["group_id"] in (c.engineering, c.backend)] == [0, 1]

    group = org.admin.get(f"/v1/manage/report/group/{c.engineering}", params={"month": "2026-08"}).json()
    assert group["totals"]["requests"] == 4
    assert group["totals"]["failures"] == 1
    assert group["totals"]["spend"] == "1.300000003"
    assert group["totals"]["cost_per_request"] == "0.325"
    assert [m["name"] for m in group["models"]] == ["mock/gpt-4o", "mock/gpt-4o-mini"]
    features = {f["feature"]: f["requests"] for f in group["features"]}
    assert features == {"streaming": 1, "tools": 1, "structured_outputs": 0, "reasoning": 1}

    user = org.admin.get(f"/v1/manage/report/user/{c.dana_backend.user_id}", params={"month": "2026-08"}).json()
    assert {g["name"]: g["spend"] for g in user["groups"]} == {"Backend": "1.000000003", "Frontend": "0.3"}
    assert user["totals"]["spend"] == "1.300000003"


def test_cost_allocation_sums_to_the_org_total_to_the_nano_dollar(org: Org, db: Database) -> None:
    c = _seed(org, db)
    report = org.admin.get("/v1/manage/report/allocation", params={"month": "2026-08"}).json()
    assert report["org_total_nanos"] == 1_000_000_001 + 2 + 300_000_000 + 7_777 + 123_456_789
    assert sum(line["spend_nanos"] for line in report["lines"]) == report["org_total_nanos"]
    tops = {t["group_id"]: t["spend_nanos"] for t in report["top_groups"]}
    assert tops == {c.engineering: 1_300_000_003, c.sales: 7_777}
    personal = [line for line in report["lines"] if line["kind"] == "personal"]
    assert [(p["user_id"], p["spend_nanos"]) for p in personal] == [(c.eve_personal.user_id, 123_456_789)]
    assert sum(tops.values()) + 123_456_789 == report["org_total_nanos"]
    assert report["personal_total"] == "0.123456789"


def test_allocation_keeps_every_cent_once_after_a_group_is_moved(org: Org, db: Database) -> None:
    c = _seed(org, db)
    moved = org.admin.patch(f"/v1/manage/group/{c.backend}", json={"parent_id": c.sales})
    assert moved.status_code == 200, moved.text
    report = org.admin.get("/v1/manage/report/allocation", params={"month": "2026-08"}).json()
    tops = {t["group_id"]: t["spend_nanos"] for t in report["top_groups"]}
    assert tops == {c.engineering: 300_000_000, c.sales: 1_000_007_780}
    assert sum(line["spend_nanos"] for line in report["lines"]) == report["org_total_nanos"]
    # The tree still reports what each group was charged when the requests were made.
    tree = org.admin.get("/v1/manage/report/group-tree", params={"month": "2026-08"}).json()
    assert {n["group_id"]: n["spend"] for n in tree["nodes"]}[c.engineering] == "1.300000003"


def test_csv_matches_json(org: Org, db: Database) -> None:
    c = _seed(org, db)
    month = {"month": "2026-08"}
    paths = {
        "/v1/manage/report/group-tree": ("nodes", None),
        "/v1/manage/report/allocation": ("lines", None),
        f"/v1/manage/report/group/{c.engineering}": ("models", "model"),
        f"/v1/manage/report/user/{c.dana_backend.user_id}": ("groups", "group"),
    }
    for path, (key, section) in paths.items():
        body = org.admin.get(path, params=month).json()
        rows = _csv(org.admin.get(path, params={**month, "format": "csv"}))
        assert _csv(org.admin.get(path, params=month, headers={"Accept": "text/csv"})) == rows
        if section is not None:
            rows = [r for r in rows if r["section"] == section]
        assert len(rows) == len(body[key]) > 0
        if section is not None:
            (total,) = _csv(org.admin.get(path, params={**month, "format": "csv"}))[:1]
            assert {n: total[f"total_{n}"] for n in body["totals"]} == {n: _text(v) for n, v in body["totals"].items()}
        for row, item in zip(rows, body[key], strict=True):
            for name, value in item.items():
                assert row[name] == _text(value), (path, name)

    spend = org.admin.get("/v1/manage/report/group-spend").json()
    rows = _csv(org.admin.get("/v1/manage/report/group-spend", params={"format": "csv"}))
    flat = [
        (g["group_id"], m["month"], m["spend"], _text(g["monthly_budget"]))
        for g in spend["groups"]
        for m in g["months"]
    ]
    assert [(r["group_id"], r["month"], r["spend"], r["monthly_budget"]) for r in rows] == flat


def test_month_to_date_is_projected_to_the_end_of_the_month(org: Org, db: Database) -> None:
    c = company(org)
    start = month_start()
    write(db, [_spend(c, c.dana_backend, c.backend, cost=40_000_000_000, at=start)])
    report = org.admin.get("/v1/manage/report/group-spend", params={"group_id": c.engineering, "months": 3}).json()
    (eng,) = report["groups"]
    assert [m["month"] for m in eng["months"]][-1] == report["month"] == start.strftime("%Y-%m")
    assert eng["month_to_date"] == "40"
    assert eng["monthly_budget"] == "100"
    assert float(eng["projected"]) >= 40
    assert eng["projected_over_budget"] == (float(eng["projected"]) > 100)


def test_a_group_admin_sees_only_their_subtree(org: Org, db: Database) -> None:
    c = _seed(org, db)
    lead = org.user()
    org.add_member(c.engineering, lead, role="admin")
    api = org.key(lead, manage="read")
    tree = api.get("/v1/manage/report/group-tree", params={"month": "2026-08"}).json()
    assert {n["group_id"] for n in tree["nodes"]} == {c.engineering, c.backend, c.frontend}
    assert tree["org_total"] is None
    assert api.get(f"/v1/manage/report/group/{c.backend}", params={"month": "2026-08"}).status_code == 200
    assert api.get(f"/v1/manage/report/group/{c.sales}").status_code == 403
    assert api.get(f"/v1/manage/report/user/{c.dana_backend.user_id}").status_code == 200
    assert api.get(f"/v1/manage/report/user/{c.sam_sales.user_id}").status_code == 403
    assert api.get("/v1/manage/report/allocation").status_code == 403
    spend = api.get("/v1/manage/report/group-spend").json()
    assert {g["group_id"] for g in spend["groups"]} == {c.engineering, c.backend, c.frontend}
    member = org.key(c.sam_sales.user_id, manage="read")
    assert member.get("/v1/manage/report/group-tree").json()["nodes"] == []


def test_another_orgs_groups_and_users_are_not_found(org: Org, new_org: Any, db: Database) -> None:
    c = _seed(org, db)
    other = new_org("Other")
    assert other.admin.get(f"/v1/manage/report/group/{c.engineering}").status_code == 404
    assert other.admin.get(f"/v1/manage/report/user/{c.dana_backend.user_id}").status_code == 404
    tree = other.admin.get("/v1/manage/report/group-tree", params={"month": "2026-08"}).json()
    assert tree["nodes"] == [] and tree["org_total"] == "0"
    assert other.admin.get("/v1/manage/report/allocation", params={"month": "2026-08"}).json()["lines"] == []


def test_bad_input_answers_400_naming_the_field(org: Org) -> None:
    for path, params, field in [
        ("/v1/manage/report/group-tree", {"month": "August"}, "month"),
        ("/v1/manage/report/allocation", {"month": "2026-13"}, "month"),
        ("/v1/manage/report/group-spend", {"months": "0"}, "months"),
        ("/v1/manage/report/group-tree", {"format": "xml"}, "format"),
    ]:
        response = org.admin.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        assert field in response.json()["error"]["message"]


def test_cache_savings_and_cost_efficiency(org: Org, db: Database) -> None:
    c = company(org)
    prices = {"mock/gpt-4o": UnitPrices(input=Decimal("2.5"), output=Decimal("10"), cached_input=Decimal("1.25"))}
    write(
        db,
        [
            _spend(c, c.sam_sales, c.sales, cost=3_000_000, at=AUGUST, input_tokens=1_000, output_tokens=1_000),
            _spend(c, c.sam_sales, c.sales, cost=1_000_000, at=AUGUST, input_tokens=2_000, cached_tokens=800),
        ],
        prices=prices.get,
    )
    totals = org.admin.get(f"/v1/manage/report/group/{c.sales}", params={"month": "2026-08"}).json()["totals"]
    # 800 cached tokens at $1.25 instead of $2.50 per million saved $0.001.
    assert totals["cache_savings"] == "0.001"
    assert totals["cached_tokens"] == 800
    assert totals["cost_per_request"] == "0.002"
    assert totals["cost_per_1k_tokens"] == "0.000987654"  # $0.004 per 4,050 tokens, rounded down to the nano


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])  # names are stripped, so no tab or CR leads one
def test_csv_cells_that_could_start_a_formula_arrive_as_text(org: Org, start: str) -> None:
    name = f'{start}HYPERLINK("http://attacker.example/","click")'
    org.group(name)
    response = org.admin.get("/v1/manage/report/group-tree", params={"format": "csv"})
    names = [row["name"] for row in _csv(response)]
    assert "'" + name in names and name not in names


def test_neutralize_marks_every_formula_start_and_leaves_the_rest() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert export.neutralize(start + "1+1") == "'" + start + "1+1"
    assert export.neutralize("Backend = API") == "Backend = API"
    assert export.neutralize(-5) == -5 and export.neutralize(None) == ""
