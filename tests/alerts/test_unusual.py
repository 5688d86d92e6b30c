"""Unusual usage: a user's or group's spend today far above its own 14-day median, once a day."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from covey.alerts.dispatcher import Dispatcher
from covey.alerts.unusual import is_unusual
from covey.config import Settings
from covey.kit.db import Database
from covey.models import UsageCharge, UsageRecord
from tests.alerts.test_delivery import alerts
from tests.conftest import Org

NOW = datetime(2026, 11, 27, 15, tzinfo=UTC)
DOLLAR = 1_000_000_000


def test_the_rule() -> None:
    history = [DOLLAR] * 10 + [0] * 4
    assert is_unusual(today=4 * DOLLAR, history=history, factor=3, floor=2 * DOLLAR)
    assert not is_unusual(today=3 * DOLLAR, history=history, factor=3, floor=2 * DOLLAR)  # not above 3×
    assert not is_unusual(today=4 * DOLLAR, history=history, factor=3, floor=5 * DOLLAR)  # under the floor
    assert is_unusual(today=6 * DOLLAR, history=[0] * 14, factor=3, floor=5 * DOLLAR)  # a new spender


def plant(db: Database, org: Org, *, user: str, group: str, at: datetime, cost: int) -> None:
    with db.transaction() as session:
        record = UsageRecord(
            id=str(uuid.uuid4()),
            org_id=org.id,
            created_at=at,
            key_id="k",
            user_id=user,
            group_id=group,
            charged_groups=[group],
            endpoint="chat",
            model_requested="m",
            cost_nanos=cost,
            status=200,
        )
        session.add(record)
        session.flush()
        session.add(UsageCharge(usage_id=record.id, group_id=group, org_id=org.id, created_at=at, cost_nanos=cost))


def test_spend_far_above_the_baseline_alerts_once_a_day(org: Org, db: Database, settings: Settings) -> None:
    user, group = org.user(), org.group("Research")
    for day in range(1, 15):
        plant(db, org, user=user, group=group, at=NOW - timedelta(days=day), cost=DOLLAR)
    plant(db, org, user=user, group=group, at=NOW - timedelta(hours=1), cost=2 * DOLLAR)
    fast = settings.model_copy(
        update={"unusual_check_seconds": 0, "usage_flush_seconds": 0.001, "unusual_floor_dollars": 2.5}
    )

    def check() -> None:
        async def main() -> None:
            dispatcher = Dispatcher(db=db, settings=fast, clock=lambda: NOW)
            task = asyncio.create_task(dispatcher.run())
            dispatcher.spent(org_id=org.id, user_id=user, charged_groups=[group])
            await dispatcher.drain()
            await dispatcher.stop()
            await task

        asyncio.run(main())

    check()
    assert alerts(org) == []  # $2 today: under 3 × $1 and under the floor
    plant(db, org, user=user, group=group, at=NOW - timedelta(minutes=5), cost=2 * DOLLAR)
    check()
    check()
    fired = alerts(org)
    assert sorted(a["type"] for a in fired) == ["group.usage.unusual", "user.usage.unusual"]
    assert {(a["period_key"], a["current_spend"], a["budget"]) for a in fired} == {("2026-11-27", "4", "1")}
