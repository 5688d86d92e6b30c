"""Rate-limit windows in Redis, shared by every replica: admitting a request against all its limits is
one atomic operation, and so is finishing it, so limits hold exactly across processes. Both travel in
the batches of `covey.kit.redis_batch` — the budget counters' own, when given (`batch=`), so a request's
rate limits and its budget reservation go in one round trip, and its finish with its settle.

Keys, under the configured prefix, per limit: `rl:r:<scope>` a sorted set of request ids scored by
arrival (ms) for requests per minute; `rl:c:<scope>` request ids scored by lease expiry for
concurrency; `rl:t:<scope>`, `rl:th:<scope>`, `rl:tt:<scope>` the token entries (ids scored by when
they leave the window's reckoning, id → tokens, their sum) for tokens per minute: a request in flight
holds its estimate, scored by its lease's expiry; once finished, the tokens it used, scored by then.
Every key expires by itself. Request ids are single words (an operation travels as one string).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis

from covey.kit.redis_batch import DOWN, ScriptBatch, script
from covey.ratelimits.rules import CONCURRENT, REQUESTS, TOKENS, WINDOW_SECONDS, Limit, Standing
from covey.ratelimits.store import RateLimitsUnavailable, Verdict

_CODES = {REQUESTS: "r", CONCURRENT: "c"}  # tokens: "t"
WINDOW_MS = WINDOW_SECONDS * 1000
# How long a finish may wait for company (the next request's admission) before it goes alone: a lease
# given back is free again within this long (no request waits for one: a full limit refuses at once).
FINISH_DELAY_SECONDS = 0.002
_NAMES_KEPT = 100_000

# The windows' operations of a batch. KEYS: 3 per limit from `base` (its sorted set, then the token hash
# and sum, used by token limits only). An operation's words:
#   A id now(ms) lease-expiry(ms) window(ms) tokens least m  then m × (kind code, amount, base)
#       count the request on every limit, holding `tokens` on its tokens limits (or all the room the
#       tightest has, down to `least`), or on none when one is full: {0, 0, tokens held, left,
#       reset ms, …per limit} when admitted (and `passed`), {the full limit (1-based), wait ms} when not
#   F id now(ms) tokens window(ms) mode m  then m × (kind code, base)
#       mode `finish`: leases released, the tokens used counted from now in place of the estimate;
#       `cancel`: the request and its estimate taken back; `hold`: the estimate lowered to `tokens`
WINDOW_OPS = """
-- Extends a key's expiry to `ms` from now, never shortens it (other entries may need longer).
local function extend(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end

OPS.A = function(a, op)
  local id, now, expiry, window = a[2], tonumber(a[3]), tonumber(a[4]), tonumber(a[5])
  local held, least, m = tonumber(a[6]), tonumber(a[7]), tonumber(a[8])
  local left, resets = {}, {}
  for i = 1, m do
    local q = 6 + 3 * i
    local kind, amount, b = a[q], tonumber(a[q + 1]), tonumber(a[q + 2])
    local z = KEYS[b + 1]
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
      for _, gone in ipairs(old) do
        redis.call('DECRBY', KEYS[b + 3], tonumber(redis.call('HGET', KEYS[b + 2], gone) or '0'))
        redis.call('HDEL', KEYS[b + 2], gone)
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
  for i = 1, m do
    local q = 6 + 3 * i
    local kind, b = a[q], tonumber(a[q + 2])
    if kind == 'r' then  -- arrivals: the newest entry is the last to leave
      redis.call('ZADD', KEYS[b + 1], now, id)
      redis.call('PEXPIRE', KEYS[b + 1], window + 1000)
    elseif kind == 'c' then
      redis.call('ZADD', KEYS[b + 1], expiry, id)
      extend(KEYS[b + 1], expiry - now + 1000)
    elseif held > 0 then
      redis.call('ZADD', KEYS[b + 1], expiry, id)
      redis.call('HSET', KEYS[b + 2], id, held)
      redis.call('INCRBY', KEYS[b + 3], held)
      for j = 1, 3 do extend(KEYS[b + j], expiry - now + window + 1000) end
      left[i] = left[i] - held
    end
    out[#out + 1] = left[i]
    out[#out + 1] = resets[i]
  end
  passed[op] = true
  return out
end

OPS.F = function(a, op)
  local id, now, tokens, window = a[2], tonumber(a[3]), tonumber(a[4]), tonumber(a[5])
  local mode, m = a[6], tonumber(a[7])
  for i = 1, m do
    local kind, b = a[6 + 2 * i], tonumber(a[7 + 2 * i])
    if mode ~= 'hold' and (kind == 'c' or (kind == 'r' and mode == 'cancel')) then
      redis.call('ZREM', KEYS[b + 1], id)
    elseif kind == 't' then
      local had = redis.call('HGET', KEYS[b + 2], id)
      if mode == 'hold' then
        if had and tonumber(had) > tokens then
          redis.call('HSET', KEYS[b + 2], id, tokens)
          redis.call('DECRBY', KEYS[b + 3], tonumber(had) - tokens)
        end
      else
        if had then
          redis.call('DECRBY', KEYS[b + 3], tonumber(had))
          redis.call('HDEL', KEYS[b + 2], id)
          redis.call('ZREM', KEYS[b + 1], id)
        end
        if mode == 'finish' and tokens > 0 then
          redis.call('ZADD', KEYS[b + 1], now, id)
          redis.call('HSET', KEYS[b + 2], id, tokens)
          redis.call('INCRBY', KEYS[b + 3], tokens)
          for j = 1, 3 do extend(KEYS[b + j], window + 1000) end
        end
      end
    end
  end
  return 0
end
"""


class RedisRateLimits:
    kind = "redis"

    def __init__(self, url: str, *, prefix: str, max_connections: int = 16, batch: ScriptBatch | None = None) -> None:
        self.prefix = prefix
        self._client: aioredis.Redis | None = None
        if batch is None:  # on its own (the budget counters' batch carries these operations too)
            pool = aioredis.BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=5, socket_timeout=2, socket_connect_timeout=5
            )
            self._client = aioredis.Redis(connection_pool=pool)
            batch = ScriptBatch(self._client, script(WINDOW_OPS), delay=FINISH_DELAY_SECONDS, tail=f"{prefix}:seeded")
        self.batch = batch
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._names: dict[str, list[str]] = {}

    def _keys(self, limit: Limit) -> list[str]:
        code = _CODES.get(limit.kind, "t")
        name = f"{code}:{limit.scope}"
        keys = self._names.get(name)
        if keys is None:
            if len(self._names) > _NAMES_KEPT:
                self._names.clear()
            p = self.prefix
            keys = self._names[name] = [f"{p}:rl:{name}", f"{p}:rl:th:{limit.scope}", f"{p}:rl:tt:{limit.scope}"]
        return keys

    def admit(
        self,
        *,
        request: str,
        limits: Sequence[Limit],
        now: float,
        lease_seconds: float,
        tokens: int = 0,
        least: int | None = None,
    ) -> asyncio.Future[Verdict]:
        batch = self.batch
        now_ms = int(now * 1000)
        least = max(1, min(tokens, tokens if least is None else least))
        words = [f"A {request} {now_ms} {now_ms + int(lease_seconds * 1000)} {WINDOW_MS} {tokens} {least}"]
        words.append(str(len(limits)))
        words += [f"{_CODES.get(limit.kind, 't')} {limit.amount} {batch.slot(self._keys(limit))}" for limit in limits]
        waiter = batch.queue(" ".join(words), error=RateLimitsUnavailable, mark=True)
        assert waiter is not None
        batch.send_now()  # goes once the request waits: its budget reservation, queued meanwhile, goes along
        verdict: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(lambda done: self._answer(done, verdict, request, limits))
        return verdict

    def _answer(
        self, done: asyncio.Future[Any], verdict: asyncio.Future[Verdict], request: str, limits: Sequence[Limit]
    ) -> None:
        """The script's answer as a `Verdict`; admitted for a request that is gone (its verdict cancelled),
        its request, leases and estimate are given back."""
        exc = done.exception()
        if exc is not None:
            if not verdict.done():
                verdict.set_exception(exc)
            return
        answer, _ = done.result()
        out = [int(v) for v in answer]
        if verdict.done():
            if out[0] == 0:
                self.finish(request=request, limits=limits, now=0, tokens=0, cancel=True)
            return
        if out[0]:
            verdict.set_result(Verdict(failed=out[0] - 1, wait_seconds=out[1] / 1000))
            return
        standings = [
            Standing(limit=limit, remaining=out[3 + 2 * i], reset_seconds=out[4 + 2 * i] / 1000)
            for i, limit in enumerate(limits)
        ]
        held = out[2] if any(limit.kind == TOKENS for limit in limits) else 0
        verdict.set_result(Verdict(failed=None, standings=standings, held=held))

    def _settle(self, request: str, limits: Sequence[Limit], now: float, tokens: int, mode: str) -> None:
        batch = self.batch
        words = [f"F {request} {int(now * 1000)} {tokens} {WINDOW_MS} {mode} {len(limits)}"]
        words += [f"{_CODES.get(limit.kind, 't')} {batch.slot(self._keys(limit))}" for limit in limits]
        batch.queue(" ".join(words), error=RateLimitsUnavailable, wait=False)
        batch.send_soon()  # with the next request's admission, or after the delay

    def hold(self, *, request: str, limits: Sequence[Limit], tokens: int) -> None:
        self._settle(request, [x for x in limits if x.kind == TOKENS], 0, tokens, "hold")

    def finish(self, *, request: str, limits: Sequence[Limit], now: float, tokens: int, cancel: bool) -> None:
        self._settle(request, limits, now, tokens, "cancel" if cancel else "finish")

    async def flush(self) -> None:
        await self.batch.flush()

    def ping_sync(self) -> None:
        try:
            self._sync.ping()
        except DOWN as exc:
            raise RateLimitsUnavailable(str(exc)) from exc

    async def close(self) -> None:
        await self.flush()
        if self._client is not None:
            await self._client.aclose()
            await self._client.connection_pool.disconnect()
        self._sync.close()
