"""Requests through the gateway reach the rollups: the usage writer keeps them in the same transaction."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from covey.kit.db import Database
from covey.models import UsageRecord
from tests.conftest import Api, Org
from tests.reports.usage_factory import company

HELLO = {"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


def _chat(api: Api, **extra: Any) -> None:
    for _ in range(100):  # a new key reaches the gateway's snapshot within its poll interval
        response = api.post("/v1/chat/completions", json={**HELLO, **extra})
        if response.status_code != 401:
            break
        time.sleep(0.05)
    assert response.status_code == 200, response.text


def test_gateway_requests_show_in_reports_and_usage(org: Org, db: Database) -> None:
    c = company(org)
    _chat(c.dana_backend.api)
    _chat(c.dana_frontend.api, stream=True)
    _chat(c.eve_personal.api)
    today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    for _ in range(200):  # the writer flushes every usage_flush_seconds
        body = org.admin.get("/v1/manage/org/usage", params={"start": today, "group_by": "group_id"}).json()
        if body["usage"][today]["total_requests"] == 3:
            break
        time.sleep(0.05)
    entry = body["usage"][today]
    assert entry["total_requests"] == 3
    assert {g["group_by_values"]["group_id"]: g["total_requests"] for g in entry["grouped_data"]} == {
        c.backend: 1,
        c.frontend: 1,
        "": 1,
    }
    with db.sessions() as session:
        recorded = session.scalar(select(func.sum(UsageRecord.cost_nanos)).where(UsageRecord.org_id == org.id))
    assert recorded and recorded > 0
    allocation = org.admin.get("/v1/manage/report/allocation").json()
    assert allocation["org_total_nanos"] == recorded
    tree = org.admin.get("/v1/manage/report/group-tree").json()
    engineering = next(n for n in tree["nodes"] if n["group_id"] == c.engineering)
    assert engineering["requests"] == 2
    group = org.admin.get(f"/v1/manage/report/group/{c.engineering}").json()
    assert {f["feature"]: f["requests"] for f in group["features"]}["streaming"] == 1
