"""Old usage records are dropped; the rollups stay, so old months still report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from covey.kit.db import Database
from covey.reports.retention import cutoff, prune_usage
from tests.conftest import Org
from tests.reports.helpers import company, usage, write


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
