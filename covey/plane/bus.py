"""How replicas hear of a commit at once instead of at their next poll: Redis pub/sub (when
`COVEY_REDIS_URL` is set; the committing process publishes after its commit) and PostgreSQL
LISTEN/NOTIFY (the journal's NOTIFY goes out with the commit itself, whoever made it). A notice only
wakes the watcher, which reads the journal: a lost or repeated notice costs nothing but time, and
polling stays as the fallback while a bus is away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import Engine

from covey.plane import repository

log = logging.getLogger("covey.plane")
_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisBus:
    name = "redis"

    def __init__(self, url: str, *, prefix: str) -> None:
        self.channel = f"{prefix}:plane"
        self._url = url
        self._publisher = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._client: aioredis.Redis | None = None
        self.subscribed = asyncio.Event()
        self.received = 0

    def publish(self, revision: int) -> None:
        try:
            self._publisher.publish(self.channel, str(revision).encode())
        except _REDIS_DOWN as exc:  # the pollers still see the change
            log.warning("announcing control-plane revision %d failed: %s", revision, exc)

    async def listen(self, wake: Callable[[], None]) -> None:
        self._client = aioredis.Redis.from_url(self._url, socket_connect_timeout=2)
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "subscribe":  # the server confirmed it
                            self.subscribed.set()
                            wake()  # for what was committed while it was away
                        elif message.get("type") == "message":
                            self.received += 1
                            wake()
            except _REDIS_DOWN as exc:
                self.subscribed.clear()
                log.warning("control-plane notices over Redis unavailable, polling: %s", exc)
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self.close_publisher()

    def close_publisher(self) -> None:
        self._publisher.close()


class PostgresBus:
    name = "postgresql"

    def __init__(self, engine: Engine, *, channel: str) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self.subscribed = asyncio.Event()
        self.received = 0

    def publish(self, revision: int) -> None:
        """Nothing to do: the NOTIFY went out with the commit."""

    async def listen(self, wake: Callable[[], None]) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
                    await repository.listen(conn, channel=self.channel)
                    self.subscribed.set()
                    wake()  # for what was committed while it was away
                    async for _notice in conn.notifies():
                        self.received += 1
                        wake()
            except psycopg.OperationalError as exc:
                self.subscribed.clear()
                log.warning("control-plane notices over PostgreSQL unavailable, polling: %s", exc)
                await asyncio.sleep(1)

    async def close(self) -> None:
        return None


Bus = RedisBus | PostgresBus
