"""Old usage records are dropped; the rollups stay, so old months still report."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from covey.app import create_app
from covey.config import Settings
from covey.kit.db import Database
from covey.models import UsageRecord
from covey.reports.retention import cutoff, prune_usage
from tests.conftest import Org
from tests.reports.usage_factory import company, usage, write


def test_pruning_keeps_the_reports_of_old_months(org: Org, db: Database) -> None:
    c = company(org)
    old = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=400)
    recent = datetime.now(UTC) - timedelta(days=1)
    member = c.dana_backend
    write(
        db,
        [
            usage(
                org_id=org.id, key_id=member.key_id, user_id=member.user_id, charged=c.charged(c.backend), at=t, cost=n
            )
            for t, n in [(old, 5_000), (old, 7_000), (recent, 11_000)]
        ],
    )
    day = old.strftime("%Y-%m-%dT00:00:00Z")
    raw = {"start": old.strftime("%Y-%m-%dT00:00:01Z"), "resolution": "hour"}

    def requests(params: dict[str, str]) -> int:
        body = org.admin.get("/v1/manage/org/usage", params=params).json()
        return sum(e["total_requests"] for e in body["usage"].values())

    assert requests(raw) == 2
    assert prune_usage(db, older_than=cutoff(365), org_id=org.id, batch=1) == 2
    assert prune_usage(db, older_than=cutoff(365), org_id=org.id) == 0

    # Hour resolution reads the raw records: gone. Whole days and the reports read the rollups: still there.
    assert requests(raw) == 0
    assert requests({"start": day}) == 2
    month = old.strftime("%Y-%m")
    allocation = org.admin.get("/v1/manage/report/allocation", params={"month": month}).json()
    assert allocation["org_total_nanos"] == 12_000
    recent_hours = {"start": (recent - timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00Z"), "resolution": "hour"}
    assert requests(recent_hours) == 1


def test_the_server_prunes_when_a_retention_period_is_set(org: Org, db: Database, settings: Settings) -> None:
    c = company(org)
    member = c.eve_personal
    ancient = datetime.now(UTC) - timedelta(days=2100)
    write(
        db,
        [
            usage(org_id=org.id, key_id=member.key_id, user_id=member.user_id, charged=[], at=t)
            for t in (ancient, datetime.now(UTC))
        ],
    )
    keeping = settings.model_copy(update={"usage_retention_days": 2000})
    with TestClient(create_app(keeping)):
        for _ in range(200):
            if _count(db, org.id) == 1:
                break
            time.sleep(0.05)
    assert _count(db, org.id) == 1
    month = ancient.strftime("%Y-%m")
    assert org.admin.get("/v1/manage/report/allocation", params={"month": month}).json()["org_total_nanos"] == 1_000


def _count(db: Database, org_id: str) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(UsageRecord).where(UsageRecord.org_id == org_id)) or 0
