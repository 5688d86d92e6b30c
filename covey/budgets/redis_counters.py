"""Spend counters in Redis, shared by every gateway replica. Each operation is one Lua script, so a
reservation across several counters is atomic.

Keys, under the configured prefix, per counter: `c:<counter>` settled spend, `r:<counter>` a sorted set
of reservation ids scored by expiry (ms), `a:<counter>` reservation id → amount, `t:<counter>` the sum
of live reservations. Expired reservations are purged inside the scripts, so a crashed request's
hold disappears without any job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from covey.budgets.counters import Check, CountersUnavailable

# Counters outlive their period long enough for month-end reports and `covey doctor`.
COUNTER_TTL_SECONDS = 100 * 86400
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
MAX_CONNECTIONS = 64

_PURGE = """
local function purge(r, a, t, now)
  local old = redis.call('ZRANGEBYSCORE', r, '-inf', now)
  for _, id in ipairs(old) do
    local amount = tonumber(redis.call('HGET', a, id) or '0')
    redis.call('HDEL', a, id)
    redis.call('DECRBY', t, amount)
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', r, '-inf', now) end
end
"""

# KEYS: c, r, a, t per check. ARGV: reservation id, estimate, now (ms), expiry (ms), limit per check.
RESERVE = (
    _PURGE
    + """
local n = #KEYS / 4
local estimate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
for i = 1, n do
  local b = (i - 1) * 4
  purge(KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], now)
end
for i = 1, n do
  local b = (i - 1) * 4
  local spent = tonumber(redis.call('GET', KEYS[b + 1]) or '0')
  local held = tonumber(redis.call('GET', KEYS[b + 4]) or '0')
  if spent + held + estimate > tonumber(ARGV[4 + i]) then return i end
end
local done = {}
local keep = math.ceil((tonumber(ARGV[4]) - now) / 1000) + 60
for i = 1, n do
  local b = (i - 1) * 4
  if not done[KEYS[b + 1]] then
    done[KEYS[b + 1]] = true
    redis.call('ZADD', KEYS[b + 2], ARGV[4], ARGV[1])
    redis.call('HSET', KEYS[b + 3], ARGV[1], estimate)
    redis.call('INCRBY', KEYS[b + 4], estimate)
    for j = 2, 4 do redis.call('EXPIRE', KEYS[b + j], keep) end
  end
end
return 0
"""
)

# KEYS: c, r, a, t per counter. ARGV: reservation id, actual cost, counter TTL (s).
SETTLE = """
local out = {}
for i = 1, #KEYS / 4 do
  local b = (i - 1) * 4
  local amount = redis.call('HGET', KEYS[b + 3], ARGV[1])
  if amount then
    redis.call('HDEL', KEYS[b + 3], ARGV[1])
    redis.call('ZREM', KEYS[b + 2], ARGV[1])
    redis.call('DECRBY', KEYS[b + 4], amount)
  end
  out[i] = redis.call('INCRBY', KEYS[b + 1], ARGV[2])
  redis.call('EXPIRE', KEYS[b + 1], ARGV[3])
end
return out
"""

# KEYS: the counters' `c:` keys, then the seeded mark. ARGV: a value per counter, then the counter TTL (s).
RAISE = """
local raised = 0
local ttl = ARGV[#ARGV]
for i = 1, #KEYS - 1 do
  local want = tonumber(ARGV[i])
  if want > tonumber(redis.call('GET', KEYS[i]) or '0') then
    redis.call('SET', KEYS[i], want, 'EX', ttl)
    raised = raised + 1
  end
end
redis.call('SET', KEYS[#KEYS], '1')
return raised
"""


class RedisCounters:
    kind = "redis"

    def __init__(self, url: str, *, prefix: str) -> None:
        self.prefix = prefix
        # A bounded pool: a burst of requests waits for a connection instead of opening hundreds at once.
        self._pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=5, socket_timeout=2, socket_connect_timeout=5
        )
        self._client = aioredis.Redis(connection_pool=self._pool)
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._reserve = self._client.register_script(RESERVE)
        self._settle = self._client.register_script(SETTLE)
        self._raise = self._client.register_script(RAISE)
        # Present from the first seed on; a Redis that restarted without its data has lost it too.
        self._seeded = f"{prefix}:seeded"

    def _keys(self, counter: str) -> list[str]:
        return [f"{self.prefix}:{part}:{counter}" for part in ("c", "r", "a", "t")]

    async def reserve(
        self, *, reservation: str, checks: Sequence[Check], estimate: int, now: float, hold_seconds: float
    ) -> int | None:
        keys = [k for c in checks for k in self._keys(c.counter)]
        now_ms = int(now * 1000)
        args: list[str | int] = [reservation, estimate, now_ms, now_ms + int(hold_seconds * 1000)]
        args += [c.limit for c in checks]
        try:
            failed = int(await self._reserve(keys=keys, args=args))
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc
        return failed - 1 if failed else None

    async def settle(self, *, reservation: str, counters: Sequence[str], actual: int) -> list[int]:
        keys = [k for c in counters for k in self._keys(c)]
        try:
            totals = await self._settle(keys=keys, args=[reservation, actual, COUNTER_TTL_SECONDS])
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc
        return [int(v) for v in totals]

    async def spent(self, counters: Sequence[str]) -> list[int]:
        if not counters:
            return []
        try:
            values = await self._client.mget([self._keys(c)[0] for c in counters])
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc
        return [int(v or 0) for v in values]

    def spent_sync(self, counters: Sequence[str]) -> list[int]:
        if not counters:
            return []
        try:
            values = self._sync.mget([self._keys(c)[0] for c in counters])
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc
        return [int(v or 0) for v in values]

    async def replace(self, values: Mapping[str, int]) -> None:
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for counter, value in values.items():
                    pipe.set(self._keys(counter)[0], value, ex=COUNTER_TTL_SECONDS)
                await pipe.execute()
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def seed(self, values: Mapping[str, int]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for counter, value in values.items():
                    pipe.set(self._keys(counter)[0], value, ex=COUNTER_TTL_SECONDS, nx=True)
                pipe.set(self._seeded, "1")
                await pipe.execute()
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def raise_to(self, values: Mapping[str, int]) -> int:
        keys = [self._keys(c)[0] for c in values] + [self._seeded]
        try:
            return int(await self._raise(keys=keys, args=[*values.values(), COUNTER_TTL_SECONDS]))
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def intact(self) -> bool:
        try:
            return bool(await self._client.exists(self._seeded))
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    def ping_sync(self) -> None:
        try:
            self._sync.ping()
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self._client.aclose()
        await self._pool.disconnect()
        self._sync.close()
