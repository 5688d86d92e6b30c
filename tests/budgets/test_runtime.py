"""The budgets runtime on the real database: counters rebuilt from the usage records at start (a
restart forgets nothing), and with Redis a control-plane change reaches another replica's budget
lines within a second, without waiting for its poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from covey.audit import service as audit
from covey.audit.actor import Actor
from covey.budgets.runtime import BudgetsRuntime
from covey.config import Settings
from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.models import Group, UsageCharge, UsageRecord
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


def test_with_redis_a_change_reaches_another_replica_within_a_second(
    org: Org, db: Database, settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    # Polling once a minute: only the announcement can make it in time.
    shared = settings.model_copy(
        update={"redis_url": redis_url, "redis_prefix": redis_prefix, "snapshot_poll_seconds": 60}
    )
    group = org.group()

    async def scenario() -> float:
        writer = await BudgetsRuntime.start(shared, db)
        reader = await BudgetsRuntime.start(shared, Database.connect(str(db.engine.url.render_as_string(False))))
        try:
            assert reader.bus is not None
            await asyncio.wait_for(reader.bus.subscribed.wait(), 10)
            assert reader.guard.book.of("group", group) == ()

            def change() -> None:
                with writer.db.transaction() as session:
                    row = session.get(Group, group)
                    assert row is not None
                    row.monthly_budget = 500 * 100 * CENT
                    audit.record(
                        session,
                        org_id=org.id,
                        actor=Actor.system("tests"),
                        action="group.update",
                        target_type="group",
                        target_id=group,
                    )

            started = time.monotonic()
            await asyncio.to_thread(change)
            while not reader.guard.book.of("group", group):
                await asyncio.sleep(0.01)
                assert time.monotonic() - started < 1.0, "the change did not arrive within a second"
            return time.monotonic() - started
        finally:
            await reader.stop()
            reader.db.dispose()
            await writer.stop()

    assert asyncio.run(scenario()) < 1.0
