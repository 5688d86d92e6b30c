"""Alerts off the hot path: the gateway's settle reports threshold crossings and spend here without
waiting; a background task records each alert (once: the first insert wins, across replicas too)
and delivers it to the org's webhooks that take it (`routing`: the whole organization's, and
those of the alert's group or a group above it), retrying with exponential backoff and logging every attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from covey.alerts import payloads, repository, routing
from covey.alerts.unusual import BASELINE_DAYS, baseline, is_unusual
from covey.budgets.lines import Line
from covey.budgets.periods import day_bounds, zone
from covey.config import Settings
from covey.groups import repository as groups_repo
from covey.groups import tree
from covey.kit import egress
from covey.kit.clock import isoformat
from covey.kit.db import Database
from covey.kit.ids import new_id
from covey.kit.money import to_nanos
from covey.models import AlertDelivery, AlertEvent, Webhook

log = logging.getLogger("covey.alerts")
MAX_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Crossing:
    line: Line
    period_key: str
    threshold: int
    spend: int
    user_id: str


@dataclass(frozen=True, slots=True)
class Overrun:
    org_id: str
    provider: str
    model: str
    allowed: int
    reported: int | None
    key_id: str


@dataclass(frozen=True, slots=True)
class Spending:
    org_id: str
    owner_type: str  # user | group
    owner_id: str


class Dispatcher:
    def __init__(self, *, db: Database, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.queue: asyncio.Queue[Crossing | Spending | Overrun | None] = asyncio.Queue()
        self._last_check: dict[tuple[str, str], float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._http: httpx.AsyncClient | None = None
        self._running = False

    # ---- called on the hot path: never waits -----------------------------------------------------

    def crossed(self, line: Line, *, period_key: str, threshold: int, spend: int, user_id: str) -> None:
        self.queue.put_nowait(Crossing(line, period_key, threshold, spend, user_id))

    def spent(self, *, org_id: str, user_id: str, charged_groups: Sequence[str]) -> None:
        now = time.monotonic()
        for owner in (("user", user_id), *(("group", g) for g in charged_groups)):
            last = self._last_check.get(owner)
            if last is not None and now - last < self.settings.unusual_check_seconds:
                continue
            self._last_check[owner] = now
            self.queue.put_nowait(Spending(org_id, *owner))

    def overran(
        self, *, org_id: str, provider: str, model: str, allowed: int, reported: int | None, key_id: str
    ) -> None:
        self.queue.put_nowait(Overrun(org_id, provider, model, allowed, reported, key_id))

    # ---- the background task ----------------------------------------------------------------------

    async def run(self) -> None:
        self._running = True
        self._http = httpx.AsyncClient(timeout=self.settings.webhook_timeout_seconds, follow_redirects=False)
        while True:
            item = await self.queue.get()
            if item is None:  # stop() asked
                self.queue.task_done()
                return
            try:
                if isinstance(item, Crossing | Overrun):
                    fire = self._fire_threshold if isinstance(item, Crossing) else self._fire_overrun
                    event = await asyncio.to_thread(fire, item)  # type: ignore[arg-type]
                    if event is not None:
                        await self._deliver_all(event)
                else:
                    self._spawn(self._check_unusual(item))
            except SQLAlchemyError as exc:
                log.error("recording an alert failed: %s", exc)
            finally:
                self.queue.task_done()

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fire_threshold(self, c: Crossing) -> AlertEvent | None:
        line = c.line
        member = None
        with self.db.sessions() as session:
            if line.owner_type == "member":
                email = repository.owner_name(session, org_id=line.org_id, owner_type="user", owner_id=c.user_id)
                member = {"id": c.user_id, "email": email}
        alert_id, fired_at = new_id(), self.clock()
        payload = payloads.threshold_payload(
            alert_id=alert_id,
            owner_type=line.owner_type,
            owner=payloads.owner_fields(line.owner_type, line.owner_id, line.name, member),
            threshold=c.threshold,
            budget=line.amount,
            spend=c.spend,
            period=line.period,
            period_key=c.period_key,
            enforcement=line.enforcement,
            line_id=line.id,
            fired_at=isoformat(fired_at) or "",
        )
        # A per-member line fires once per member: the member is part of the line's identity here.
        line_id = f"{line.id}:{c.user_id}" if line.owner_type == "member" else line.id
        event = AlertEvent(
            id=alert_id,
            org_id=line.org_id,
            kind="budget.threshold",
            type=payload["type"],
            line_id=line_id[:120],
            owner_type=line.owner_type,
            owner_id=line.owner_id,
            member_id=c.user_id if line.owner_type == "member" else None,
            threshold=c.threshold,
            period_key=c.period_key,
            budget_nanos=line.amount,
            spend_nanos=c.spend,
            payload=payload,
            fired_at=fired_at,
        )
        return event if repository.insert_once(self.db, event) else None

    def _fire_overrun(self, o: Overrun) -> AlertEvent | None:
        """Once a day per provider and organization: the first overrun names it, the log has the rest."""
        alert_id, now = new_id(), self.clock()
        day = now.date().isoformat()
        payload = payloads.overrun_payload(
            alert_id=alert_id,
            provider=o.provider,
            model=o.model,
            allowed=o.allowed,
            reported=o.reported,
            key_id=o.key_id,
            day=day,
            fired_at=isoformat(now) or "",
        )
        event = AlertEvent(
            id=alert_id,
            org_id=o.org_id,
            kind="provider.overrun",
            type=payload["type"],
            line_id=f"overrun:{o.provider}"[:120],
            owner_type="provider",
            owner_id=o.provider[:36],
            threshold=0,
            period_key=day,
            budget_nanos=0,
            spend_nanos=0,
            payload=payload,
            fired_at=now,
        )
        return event if repository.insert_once(self.db, event) else None

    async def _check_unusual(self, s: Spending) -> None:
        # The usage records of the request that got us here are written within one flush interval.
        await asyncio.sleep(self.settings.usage_flush_seconds * 2)
        try:
            event = await asyncio.to_thread(self._fire_unusual, s)
            if event is not None:
                await self._deliver_all(event)
        except SQLAlchemyError as exc:
            log.error("checking unusual usage failed: %s", exc)

    def _fire_unusual(self, s: Spending) -> AlertEvent | None:
        with self.db.sessions() as session:
            tz = zone(repository.org_timezone(session, org_id=s.org_id))
            now = self.clock()
            today = now.astimezone(tz).date()

            def on(day_offset: int) -> int:
                start, end = day_bounds(today - timedelta(days=day_offset), tz)
                return repository.spend_between(
                    session, org_id=s.org_id, owner_type=s.owner_type, owner_id=s.owner_id, start=start, end=end
                )

            spend = on(0)
            floor = to_nanos(Decimal(str(self.settings.unusual_floor_dollars)))
            if spend <= floor:
                return None
            history = [on(d) for d in range(1, BASELINE_DAYS + 1)]
            if not is_unusual(today=spend, history=history, factor=self.settings.unusual_factor, floor=floor):
                return None
            name = repository.owner_name(session, org_id=s.org_id, owner_type=s.owner_type, owner_id=s.owner_id)
        alert_id, median = new_id(), baseline(history)
        payload = payloads.unusual_payload(
            alert_id=alert_id,
            owner_type=s.owner_type,
            owner=payloads.owner_fields(s.owner_type, s.owner_id, name, None),
            factor=self.settings.unusual_factor,
            median=median,
            spend=spend,
            day=today.isoformat(),
            fired_at=isoformat(now) or "",
        )
        event = AlertEvent(
            id=alert_id,
            org_id=s.org_id,
            kind="usage.unusual",
            type=payload["type"],
            line_id=f"unusual:{s.owner_type}:{s.owner_id}",
            owner_type=s.owner_type,
            owner_id=s.owner_id,
            threshold=0,
            period_key=today.isoformat(),
            budget_nanos=median,
            spend_nanos=spend,
            payload=payload,
            fired_at=now,
        )
        return event if repository.insert_once(self.db, event) else None

    # ---- delivery ---------------------------------------------------------------------------------

    def _hooks(self, event: AlertEvent) -> list[Webhook]:
        """The enabled webhooks the alert goes to (`routing.recipients`)."""
        group = routing.alert_group(event.owner_type, event.owner_id)
        with self.db.sessions() as session:
            hooks = repository.enabled_webhooks(session, org_id=event.org_id)
            if group is None or all(h.group_id is None for h in hooks):
                chain: list[str] = []
            else:
                chain = tree.chain(groups_repo.parent_map(session, org_id=event.org_id), group)
        return routing.recipients(hooks, chain)

    async def _deliver_all(self, event: AlertEvent) -> None:
        for hook in await asyncio.to_thread(self._hooks, event):
            self._spawn(self.deliver(event, hook))

    async def deliver(self, event: AlertEvent, hook: Webhook) -> bool:
        """Up to 1 + MAX_RETRIES attempts, waiting `webhook_retry_seconds` × 2ⁿ between them."""
        assert self._http is not None
        body = payloads.body_for(hook.format, event.payload, budget=event.budget_nanos, spend=event.spend_nanos)
        for attempt in range(1, MAX_RETRIES + 2):
            headers = payloads.signature_headers(hook.secret, body, int(time.time()))
            status, error = await self._post(hook.url, body, headers)
            row = AlertDelivery(
                org_id=event.org_id,
                alert_id=event.id,
                webhook_id=hook.id,
                attempt=attempt,
                status_code=status,
                error=error,
                succeeded=error is None,
            )
            try:
                await asyncio.to_thread(repository.log_attempt, self.db, row)
            except SQLAlchemyError as exc:
                log.error("logging a webhook attempt failed: %s", exc)
            if error is None:
                return True
            if attempt <= MAX_RETRIES:
                await asyncio.sleep(self.settings.webhook_retry_seconds * 2 ** (attempt - 1))
        return False

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """One attempt: the status code, or why there was none. Only the status is kept of what the
        receiver answers, never its body or a connection error's text: the log must not turn webhooks
        into a probe of whatever the URL reaches. The host is checked again on each attempt (DNS
        answers change), and the request goes to the address that was checked."""
        assert self._http is not None
        allowed = self.settings.webhook_allowed_hosts
        try:
            target = await asyncio.to_thread(egress.resolve, url, allowed_hosts=allowed)
        except egress.DestinationRefused as exc:
            return None, f"refused: {exc}"
        try:
            request = self._http.build_request(
                "POST", target.url, content=body, headers={**headers, **target.headers}, extensions=target.extensions
            )
            response = await self._http.send(request, stream=True)
            await response.aclose()
        except httpx.HTTPError:
            return None, "no answer: could not connect, or timed out"
        status = response.status_code
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    async def drain(self) -> None:
        """Wait for every queued alert and every delivery in flight (tests, and a graceful stop)."""
        await self.queue.join()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace_seconds: float = 2.0) -> None:
        """Finish what is queued, give deliveries in flight a moment, then drop the rest."""
        self.queue.put_nowait(None)
        if self._running:
            await self.queue.join()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_seconds)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()
