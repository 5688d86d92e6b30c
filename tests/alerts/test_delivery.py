"""Alerts fire once per (line, threshold, period), also when two dispatchers (two replicas) see the
same crossing, and reach a real receiver signed, retried with backoff, every attempt logged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from covey.alerts.dispatcher import Dispatcher
from covey.budgets.lines import Line
from covey.config import Settings
from covey.kit.db import Database
from tests.alerts.conftest import RECEIVER_HOSTS
from tests.alerts.receiver import receiver
from tests.conftest import Org

AT = datetime(2026, 11, 27, 12, tzinfo=UTC)


def fast(settings: Settings, allowed_hosts: list[str] = RECEIVER_HOSTS) -> Settings:
    update = {"webhook_retry_seconds": 0.01, "webhook_timeout_seconds": 5, "webhook_allowed_hosts": allowed_hosts}
    return settings.model_copy(update=update)


def add_webhook(org: Org, url: str, fmt: str = "generic") -> str:
    response = org.admin.post("/v1/manage/webhook", json={"url": url, "format": fmt})
    assert response.status_code == 200, response.text
    return str(response.json()["secret"])


def run_dispatchers(
    db: Database,
    settings: Settings,
    count: int,
    feed: Callable[[list[Dispatcher]], None],
    allowed_hosts: list[str] = RECEIVER_HOSTS,
) -> None:
    async def main() -> None:
        tuned = fast(settings, allowed_hosts)
        dispatchers = [Dispatcher(db=db, settings=tuned, clock=lambda: AT) for _ in range(count)]
        tasks = [asyncio.create_task(d.run()) for d in dispatchers]
        feed(dispatchers)
        for d in dispatchers:
            await d.drain()
        for d in dispatchers:
            await d.stop()
        await asyncio.gather(*tasks)

    asyncio.run(main())


def group_line(org: Org, group_id: str, name: str, amount: int = 100_000_000_000) -> Line:
    return Line(
        id=f"group:{group_id}:monthly_budget",
        org_id=org.id,
        owner_type="group",
        owner_id=group_id,
        amount=amount,
        name=name,
    )


def alerts(org: Org) -> list[dict[str, Any]]:
    response = org.admin.get("/v1/manage/alert")
    assert response.status_code == 200, response.text
    return list(response.json()["alerts"])


def test_a_threshold_fires_once_across_two_replicas_signed(org: Org, db: Database, settings: Settings) -> None:
    group = org.group("Growth")
    line = group_line(org, group, "Growth")
    with receiver() as hook:
        hook.secret = add_webhook(org, hook.url)

        def feed(dispatchers: list[Dispatcher]) -> None:
            for _ in range(5):
                for d in dispatchers:
                    d.crossed(line, period_key="2026-11", threshold=80, spend=81_000_000_000, user_id=org.owner_id)

        run_dispatchers(db, settings, 2, feed)
        assert hook.rejected == 0
        assert len(hook.received) == 1
    payload = hook.received[0]
    assert payload["type"] == "group.budget.exceeded_percent"
    assert payload["group"] == {"id": group, "name": "Growth"}
    assert payload["threshold"] == {"kind": "percent", "value": 80, "budget": 100.0, "current_spend": 81.0}
    assert payload["fired_at"] == "2026-11-27T12:00:00Z"
    fired = alerts(org)
    assert len(fired) == 1
    assert (fired[0]["threshold"], fired[0]["budget"], fired[0]["current_spend"]) == (80, "100", "81")
    assert [a["succeeded"] for a in fired[0]["attempts"]] == [True]


def test_the_next_period_fires_again(org: Org, db: Database, settings: Settings) -> None:
    group = org.group()
    line = group_line(org, group, "G")

    def feed(dispatchers: list[Dispatcher]) -> None:
        for period in ("2026-11", "2026-11", "2026-12"):
            dispatchers[0].crossed(line, period_key=period, threshold=50, spend=50_000_000_000, user_id=org.owner_id)

    run_dispatchers(db, settings, 1, feed)
    assert sorted(a["period_key"] for a in alerts(org)) == ["2026-11", "2026-12"]


def test_a_failing_receiver_gets_the_alert_once_after_three_attempts(
    org: Org, db: Database, settings: Settings
) -> None:
    group = org.group()
    line = group_line(org, group, "Flaky")
    with receiver() as hook:
        hook.secret = add_webhook(org, hook.url)
        hook.fail_first = 2

        def feed(dispatchers: list[Dispatcher]) -> None:
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)

        run_dispatchers(db, settings, 1, feed)
        assert hook.calls == 3
        assert len(hook.received) == 1
    attempts = alerts(org)[0]["attempts"]
    assert [(a["attempt"], a["status_code"], a["succeeded"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 204, True),
    ]


def test_a_dead_receiver_is_tried_four_times(org: Org, db: Database, settings: Settings) -> None:
    group = org.group()
    line = group_line(org, group, "Gone")
    with receiver() as hook:
        dead = hook.url
    add_webhook(org, dead)

    def feed(dispatchers: list[Dispatcher]) -> None:
        dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)

    run_dispatchers(db, settings, 1, feed)
    attempts = alerts(org)[0]["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert not any(a["succeeded"] for a in attempts)
    # Only that there was no answer: never the connection error's own text.
    assert {a["error"] for a in attempts} == {"no answer: could not connect, or timed out"}


def test_a_host_that_turned_private_gets_nothing(org: Org, db: Database, settings: Settings) -> None:
    """Allowed when it was added, the host is no longer allowed when the alert fires (as a DNS answer
    that changed to a private address would be): nothing is sent, and the log says why."""
    group = org.group()
    line = group_line(org, group, "Rebound")
    with receiver() as hook:
        hook.secret = add_webhook(org, hook.url)

        def feed(dispatchers: list[Dispatcher]) -> None:
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)

        run_dispatchers(db, settings, 1, feed, allowed_hosts=[])
        assert hook.calls == 0
    attempts = alerts(org)[0]["attempts"]
    assert len(attempts) == 4 and not any(a["succeeded"] or a["status_code"] for a in attempts)
    assert attempts[0]["error"] == "refused: 127.0.0.1 is a loopback address; webhooks go to public addresses only"


def test_only_the_status_of_an_answer_is_kept(org: Org, db: Database, settings: Settings) -> None:
    group = org.group()
    line = group_line(org, group, "Chatty")
    with receiver() as hook:
        hook.secret = add_webhook(org, hook.url)
        hook.fail_first = 9

        def feed(dispatchers: list[Dispatcher]) -> None:
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)

        run_dispatchers(db, settings, 1, feed)
    attempts = alerts(org)[0]["attempts"]
    assert {(a["status_code"], a["error"]) for a in attempts} == {(500, "HTTP 500")}
    assert "hunter2" not in org.admin.get("/v1/manage/alert").text


def test_slack_format_and_member_lines(org: Org, db: Database, settings: Settings) -> None:
    group = org.group("Backend")
    user = org.user("dev@example.com")
    line = Line(
        id=f"member:{group}:monthly_budget_per_user",
        org_id=org.id,
        owner_type="member",
        owner_id=group,
        amount=25_000_000_000,
        name="Backend",
    )
    with receiver() as hook:
        hook.secret = add_webhook(org, hook.url, "slack")

        def feed(dispatchers: list[Dispatcher]) -> None:
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=20_000_000_000, user_id=user)
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=20_000_000_000, user_id=org.owner_id)

        run_dispatchers(db, settings, 1, feed)
    texts = sorted(r["text"] for r in hook.received)
    assert len(texts) == 2  # once per member
    assert any(
        "Group Backend member dev@example.com reached 80% of its monthly hard budget of $25.00" in t for t in texts
    )
    fired = alerts(org)
    assert {a["member_id"] for a in fired} == {user, org.owner_id}
    assert {a["payload"]["type"] for a in fired} == {"group_member.budget.exceeded_percent"}


def add_group_webhook(org: Org, url: str, group_id: str) -> str:
    response = org.admin.post("/v1/manage/webhook", json={"url": url, "group_id": group_id})
    assert response.status_code == 200, response.text
    return str(response.json()["secret"])


def test_a_subgroups_alert_reaches_its_parents_webhook_not_a_siblings(
    org: Org, db: Database, settings: Settings
) -> None:
    eng = org.group("Eng")
    backend = org.group("Backend", parent_id=eng)
    frontend = org.group("Frontend", parent_id=eng)
    api = org.group("API", parent_id=backend)
    with receiver() as whole, receiver() as parent, receiver() as sibling, receiver() as below:
        whole.secret = add_webhook(org, whole.url)
        parent.secret = add_group_webhook(org, parent.url, eng)
        sibling.secret = add_group_webhook(org, sibling.url, frontend)
        below.secret = add_group_webhook(org, below.url, api)

        def feed(dispatchers: list[Dispatcher]) -> None:
            line = group_line(org, backend, "Backend")
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)
            dispatchers[0].overran(org_id=org.id, provider="mock", model="m", allowed=1, reported=2, key_id="k")

        run_dispatchers(db, settings, 1, feed)
        got = {
            name: [p["type"] for p in r.received]
            for name, r in (("whole", whole), ("parent", parent), ("sibling", sibling), ("below", below))
        }
    # The provider overrun is about no group: the organization's webhook only.
    assert got["parent"] == ["group.budget.exceeded_percent"]
    assert len(got["whole"]) == 2 and "group.budget.exceeded_percent" in got["whole"]
    assert (sibling.calls, below.calls, whole.rejected, parent.rejected) == (0, 0, 0, 0)


def test_each_delivery_names_its_webhook(org: Org, db: Database, settings: Settings) -> None:
    eng = org.group("Eng")
    backend = org.group("Backend", parent_id=eng)
    with receiver() as whole, receiver() as parent, receiver() as gone:
        whole.secret = add_webhook(org, whole.url)
        parent.secret = add_group_webhook(org, parent.url, eng)
        gone.secret = add_webhook(org, gone.url)

        def feed(dispatchers: list[Dispatcher]) -> None:
            line = group_line(org, backend, "Backend")
            dispatchers[0].crossed(line, period_key="2026-11", threshold=80, spend=80_000_000_000, user_id=org.owner_id)

        run_dispatchers(db, settings, 1, feed)
    hooks = {h["url"]: h["id"] for h in org.admin.get("/v1/manage/webhook").json()["webhooks"]}
    assert org.admin.delete(f"/v1/manage/webhook/{hooks[gone.url]}").status_code == 204
    attempts = alerts(org)[0]["attempts"]
    named = sorted((a["webhook_url"] or "", a["webhook_group_id"] or "", a["webhook_scope"]) for a in attempts)
    assert named == sorted(
        [
            (whole.url, "", "whole organization"),
            (parent.url, eng, "Eng"),
            ("", "", "deleted webhook"),
        ]
    )
    by_url = {a["webhook_url"]: a["webhook_id"] for a in attempts}
    assert (by_url[whole.url], by_url[parent.url], by_url[None]) == (
        hooks[whole.url],
        hooks[parent.url],
        hooks[gone.url],
    )
