"""Control-plane changes announced over Redis pub/sub, so every replica reloads its snapshot and its
budget lines at once instead of at its next poll. Polling the revision counter stays as the fallback
(for changes made by processes without Redis, and while Redis is away)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from covey.kit.db import Database
from covey.models import Revision

log = logging.getLogger("covey.budgets")
_MOVED = "covey_revision_moved"
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class RevisionBus:
    def __init__(self, url: str, *, prefix: str) -> None:
        self.channel = f"{prefix}:revision"
        self._publisher = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        self.listeners: list[Callable[[], Awaitable[None]]] = []
        self.received = 0
        self.subscribed = asyncio.Event()

    def install(self, db: Database) -> None:
        """Publish after every commit that moved the revision counter (that is, every audited change)."""
        event.listen(db.sessions, "do_orm_execute", self._seen)
        event.listen(db.sessions, "after_commit", self._committed)
        event.listen(db.sessions, "after_rollback", self._rolled_back)

    def uninstall(self, db: Database) -> None:
        for name, fn in (("do_orm_execute", self._seen), ("after_commit", self._committed)):
            event.remove(db.sessions, name, fn)
        event.remove(db.sessions, "after_rollback", self._rolled_back)

    def _seen(self, state: ORMExecuteState) -> None:
        table: Any = getattr(state.statement, "table", None)
        if state.is_update and table is not None and table.name == Revision.__tablename__:
            state.session.info[_MOVED] = True

    def _committed(self, session: Session) -> None:
        if session.info.pop(_MOVED, False):
            try:
                self._publisher.publish(self.channel, b"1")
            except _DOWN as exc:  # the pollers still see the change
                log.warning("announcing a control-plane change failed: %s", exc)

    def _rolled_back(self, session: Session) -> None:
        session.info.pop(_MOVED, None)

    async def listen(self) -> None:
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "subscribe":  # the server confirmed it
                            self.subscribed.set()
                        if message.get("type") != "message":
                            continue
                        self.received += 1
                        for callback in self.listeners:
                            await callback()
            except _DOWN as exc:
                self.subscribed.clear()
                log.warning("control-plane announcements unavailable, polling only: %s", exc)
                await asyncio.sleep(1)

    async def close(self) -> None:
        await self._client.aclose()
        self._publisher.close()
