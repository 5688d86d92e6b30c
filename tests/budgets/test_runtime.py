"""The budgets runtime on the real database: counters rebuilt from the usage records at start (a
restart forgets nothing). How a change reaches another replica's budget lines is the control plane's
(tests/plane)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from covey.budgets.runtime import BudgetsRuntime
from covey.config import Settings
from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.models import UsageCharge, UsageRecord
from tests.conftest import Org

CENT = 10_000_000


def plant(db: Database, org: Org, *, key: str, user: str, groups: list[str], cost: int, days_ago: float = 0) -> None:
    at = utcnow() - timedelta(days=days_ago, seconds=1)
    with db.transaction() as session:
        record = UsageRecord(
            id=str(uuid.uuid4()),
            org_id=org.id,
            created_at=at,
            key_id=key,
            user_id=user,
            group_id=groups[0] if groups else None,
            charged_groups=groups,
            endpoint="chat",
            model_requested="m",
            cost_nanos=cost,
            status=200,
        )
        session.add(record)
        session.flush()
        for depth, group in enumerate(groups):
            session.add(
                UsageCharge(
                    usage_id=record.id, group_id=group, org_id=org.id, created_at=at, cost_nanos=cost, depth=depth
                )
            )


def test_a_restart_rebuilds_the_months_counters_from_the_records(org: Org, db: Database, settings: Settings) -> None:
    team, dept = org.group(), org.group()
    plant(db, org, key="k1", user="u1", groups=[team, dept], cost=3 * CENT)
    plant(db, org, key="k1", user="u1", groups=[team, dept], cost=4 * CENT)
    plant(db, org, key="k2", user="u2", groups=[], cost=5 * CENT)
    plant(db, org, key="k2", user="u2", groups=[], cost=100 * CENT, days_ago=40)  # an earlier month

    async def start_and_read() -> list[int]:
        runtime = await BudgetsRuntime.start(settings, db)
        try:

            def month(scope: str) -> str:
                return runtime.guard.counter(org.id, scope)

            scopes = [
                "key:k1",
                "key:k2",
                "user:u1",
                f"group:{team}",
                f"group:{dept}",
                f"member:{team}:u1",
                f"org:{org.id}",
            ]
            return await runtime.store.spent([month(s) for s in scopes])
        finally:
            await runtime.stop()

    assert asyncio.run(start_and_read()) == [7 * CENT, 5 * CENT, 7 * CENT, 7 * CENT, 7 * CENT, 7 * CENT, 12 * CENT]
