"""Rate-limit windows in Redis, shared by every replica: admitting a request against all its limits is
one Lua script, and so is finishing it, so limits hold exactly across processes.

Keys, under the configured prefix, per limit: `rl:r:<scope>` a sorted set of request ids scored by
arrival (ms) for requests per minute; `rl:c:<scope>` request ids scored by lease expiry for
concurrency; `rl:t:<scope>`, `rl:th:<scope>`, `rl:tt:<scope>` the token entries (ids scored by when
they leave the window's reckoning, id → tokens, their sum) for tokens per minute: a request in flight
holds its estimate, scored by its lease's expiry; once finished, the tokens it used, scored by then.
Every key expires by itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from covey.ratelimits.rules import CONCURRENT, REQUESTS, TOKENS, WINDOW_SECONDS, Limit, Standing
from covey.ratelimits.store import RateLimitsUnavailable, Verdict

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
_CODES = {REQUESTS: "r", CONCURRENT: "c"}  # tokens: "t"
WINDOW_MS = WINDOW_SECONDS * 1000

# Extends a key's expiry to `ms` from now, never shortens it (other entries may need longer).
_EXTEND = """
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
"""

# KEYS: three per limit (its sorted set, then the token hash and sum, used by token limits only).
# ARGV: request id, now (ms), lease expiry (ms), window (ms), tokens wanted, least tokens, then a kind
# code and an amount per limit.
# Returns {0, 0, tokens held, left, reset ms, …per limit} when admitted, {index, wait ms} when refused.
ADMIT = (
    _EXTEND
    + """
local now, expiry, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local held, least = tonumber(ARGV[5]), tonumber(ARGV[6])
local n = #KEYS / 3
local left, resets = {}, {}
for i = 1, n do
  local b = (i - 1) * 3
  local kind, amount, z = ARGV[5 + 2 * i], tonumber(ARGV[6 + 2 * i]), KEYS[b + 1]
  local reset = 0
  if kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    left[i] = amount - redis.call('ZCARD', z) - 1
    reset = 1000
  elseif kind == 'r' then
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now - window)
    left[i] = amount - redis.call('ZCARD', z) - 1
    reset = window
    local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
    if first[2] then reset = tonumber(first[2]) + window - now end
  else
    local old = redis.call('ZRANGEBYSCORE', z, '-inf', now - window)
    for _, id in ipairs(old) do
      redis.call('DECRBY', KEYS[b + 3], tonumber(redis.call('HGET', KEYS[b + 2], id) or '0'))
      redis.call('HDEL', KEYS[b + 2], id)
    end
    if #old > 0 then redis.call('ZREMRANGEBYSCORE', z, '-inf', now - window) end
    left[i] = amount - tonumber(redis.call('GET', KEYS[b + 3]) or '0')
    if left[i] < least then left[i] = -1 elseif left[i] < held then held = left[i] end
    reset = 1000
    local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
    if first[2] and tonumber(first[2]) <= now then reset = tonumber(first[2]) + window - now end
  end
  if left[i] < 0 then return {i, reset} end
  resets[i] = reset
end
local out = {0, 0, held}
for i = 1, n do
  local b = (i - 1) * 3
  local kind = ARGV[5 + 2 * i]
  if kind == 'r' then
    redis.call('ZADD', KEYS[b + 1], now, ARGV[1])
    extend(KEYS[b + 1], window + 1000)
  elseif kind == 'c' then
    redis.call('ZADD', KEYS[b + 1], expiry, ARGV[1])
    extend(KEYS[b + 1], expiry - now + 1000)
  elseif held > 0 then
    redis.call('ZADD', KEYS[b + 1], expiry, ARGV[1])
    redis.call('HSET', KEYS[b + 2], ARGV[1], held)
    redis.call('INCRBY', KEYS[b + 3], held)
    for j = 1, 3 do extend(KEYS[b + j], expiry - now + window + 1000) end
    left[i] = left[i] - held
  end
  out[#out + 1] = left[i]
  out[#out + 1] = resets[i]
end
return out
"""
)

# KEYS: as ADMIT. ARGV: request id, now (ms), tokens, window (ms), mode, then a kind code per limit.
# Mode `finish`: leases released, the tokens used counted from now in place of the estimate; `cancel`:
# the request and its estimate taken back; `hold`: the estimate lowered to `tokens`, nothing else.
SETTLE = (
    _EXTEND
    + """
local now, tokens, window, mode = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
for i = 1, #KEYS / 3 do
  local b = (i - 1) * 3
  local kind = ARGV[5 + i]
  if mode ~= 'hold' and (kind == 'c' or (kind == 'r' and mode == 'cancel')) then
    redis.call('ZREM', KEYS[b + 1], ARGV[1])
  elseif kind == 't' then
    local had = redis.call('HGET', KEYS[b + 2], ARGV[1])
    if mode == 'hold' then
      if had and tonumber(had) > tokens then
        redis.call('HSET', KEYS[b + 2], ARGV[1], tokens)
        redis.call('DECRBY', KEYS[b + 3], tonumber(had) - tokens)
      end
    else
      if had then
        redis.call('DECRBY', KEYS[b + 3], tonumber(had))
        redis.call('HDEL', KEYS[b + 2], ARGV[1])
        redis.call('ZREM', KEYS[b + 1], ARGV[1])
      end
      if mode == 'finish' and tokens > 0 then
        redis.call('ZADD', KEYS[b + 1], now, ARGV[1])
        redis.call('HSET', KEYS[b + 2], ARGV[1], tokens)
        redis.call('INCRBY', KEYS[b + 3], tokens)
        for j = 1, 3 do extend(KEYS[b + j], window + 1000) end
      end
    end
  end
end
return 0
"""
)


class RedisRateLimits:
    kind = "redis"

    def __init__(self, url: str, *, prefix: str, max_connections: int = 16) -> None:
        self.prefix = prefix
        self._pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=5, socket_timeout=2, socket_connect_timeout=5
        )
        self._client = aioredis.Redis(connection_pool=self._pool)
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._admit = self._client.register_script(ADMIT)
        self._settle = self._client.register_script(SETTLE)

    def _keys(self, limits: Sequence[Limit]) -> list[str]:
        p = self.prefix
        out = []
        for limit in limits:
            code = _CODES.get(limit.kind, "t")
            out += [f"{p}:rl:{code}:{limit.scope}", f"{p}:rl:th:{limit.scope}", f"{p}:rl:tt:{limit.scope}"]
        return out

    async def admit(
        self,
        *,
        request: str,
        limits: Sequence[Limit],
        now: float,
        lease_seconds: float,
        tokens: int = 0,
        least: int | None = None,
    ) -> Verdict:
        now_ms = int(now * 1000)
        least = max(1, min(tokens, tokens if least is None else least))
        args: list[str | int] = [request, now_ms, now_ms + int(lease_seconds * 1000), WINDOW_MS, tokens, least]
        for limit in limits:
            args += [_CODES.get(limit.kind, "t"), limit.amount]
        try:
            out = [int(v) for v in await self._admit(keys=self._keys(limits), args=args)]
        except _DOWN as exc:
            raise RateLimitsUnavailable(str(exc)) from exc
        if out[0]:
            return Verdict(failed=out[0] - 1, wait_seconds=out[1] / 1000)
        standings = [
            Standing(limit=limit, remaining=out[3 + 2 * i], reset_seconds=out[4 + 2 * i] / 1000)
            for i, limit in enumerate(limits)
        ]
        held = out[2] if any(limit.kind == TOKENS for limit in limits) else 0
        return Verdict(failed=None, standings=standings, held=held)

    async def _run_settle(self, request: str, limits: Sequence[Limit], now: float, tokens: int, mode: str) -> None:
        args: list[str | int] = [request, int(now * 1000), tokens, WINDOW_MS, mode]
        args += [_CODES.get(limit.kind, "t") for limit in limits]
        try:
            await self._settle(keys=self._keys(limits), args=args)
        except _DOWN as exc:
            raise RateLimitsUnavailable(str(exc)) from exc

    async def hold(self, *, request: str, limits: Sequence[Limit], tokens: int) -> None:
        await self._run_settle(request, [x for x in limits if x.kind == TOKENS], 0, tokens, "hold")

    async def finish(self, *, request: str, limits: Sequence[Limit], now: float, tokens: int, cancel: bool) -> None:
        await self._run_settle(request, limits, now, tokens, "cancel" if cancel else "finish")

    def ping_sync(self) -> None:
        try:
            self._sync.ping()
        except _DOWN as exc:
            raise RateLimitsUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self._client.aclose()
        await self._pool.disconnect()
        self._sync.close()
