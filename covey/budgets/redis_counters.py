"""Spend counters in Redis, shared by every gateway replica. Reservations and settles travel in batches
(`covey.kit.redis_batch`) together with the rate-limit windows' operations (`covey.ratelimits.redis_store`):
a request waits one round trip for its rate limits and its reservation together, and none for its
settle. A reservation across several counters is all or nothing, and made only when the request's rate
limits, queued just before it, admitted it.

Keys, under the configured prefix, per counter: `c:<counter>` settled spend, `r:<counter>` a sorted set
of reservation ids scored by expiry (ms), `a:<counter>` reservation id → amount, `t:<counter>` the sum
of live reservations. Expired reservations are purged inside the scripts, so a crashed request's
hold disappears without any job. Reservation ids are single words (an operation travels as one string).

`<prefix>:seeded` holds the counters' generation: a token set when they are made from the usage
records (`cut`). A Redis that lost its data has none until the next cut; every batch answers with the
generation its settles landed in, so the usage writer can tell which settles a cut wiped
(`covey.budgets.cut`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis
import redis.asyncio as aioredis

from covey.budgets.counters import Check, CountersUnavailable, Hold
from covey.kit.redis_batch import DOWN, ScriptBatch, script
from covey.ratelimits.redis_store import WINDOW_OPS

# Counters outlive their period long enough for month-end reports and `covey doctor`.
COUNTER_TTL_SECONDS = 100 * 86400
_DOWN = DOWN
MAX_CONNECTIONS = 16
# How long a settle may wait for a reservation to travel with before it goes alone. Nobody waits for
# a settle, and until it lands its request's hold keeps the room taken, so waiting never overspends.
SETTLE_DELAY_SECONDS = 0.002
_NAMES_KEPT = 100_000

# The budget operations of a batch. KEYS: 4 per counter (c, r, a, t) from `base`. An operation's words:
#   R id estimate least now(ms) expiry(ms) gate n  then n × (base, limit)
#                                       hold `estimate` on every check, or the least room of any when
#                                       that is at least `least`, or nothing; when `gate` names an
#                                       earlier operation of the batch (1-based) that did not pass
#                                       (the request's rate limits refused it): nothing, answering {0, 0}
#   S id actual n  then n × base       release the hold, add the cost
# A reservation's answer is {0, amount held}, else {the (1-based) check without room, 0}; a settle's
# the new totals.
BUDGET_OPS = """
local COUNTER_TTL = {ttl}
local purged = {}

-- Drop reservations that expired by `now` (a crashed request's hold), once per counter and instant.
local function purge(b, now)
  if purged[b] ~= nil and purged[b] >= now then return end
  purged[b] = now
  local r, a, t = KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]
  local old = redis.call('ZRANGEBYSCORE', r, '-inf', now)
  for _, id in ipairs(old) do
    local amount = tonumber(redis.call('HGET', a, id) or '0')
    redis.call('HDEL', a, id)
    redis.call('DECRBY', t, amount)
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', r, '-inf', now) end
end

OPS.R = function(a, op)
  local id, estimate, least = a[2], tonumber(a[3]), tonumber(a[4])
  local now, expiry, gate, n = tonumber(a[5]), a[6], tonumber(a[7]), tonumber(a[8])
  if gate > 0 and not passed[gate] then return {0, 0} end
  local read = {}
  for j = 0, n - 1 do
    local b = tonumber(a[9 + 2 * j])
    purge(b, now)
    read[2 * j + 1], read[2 * j + 2] = KEYS[b + 1], KEYS[b + 4]
  end
  local values = redis.call('MGET', unpack(read))  -- spent and held, counter by counter
  local amount = estimate
  for j = 0, n - 1 do
    local room = tonumber(a[10 + 2 * j]) - tonumber(values[2 * j + 1] or '0') - tonumber(values[2 * j + 2] or '0')
    if room < least then return {j + 1, 0} end
    if room < amount then amount = room end
  end
  -- The holds' keys live twice as long as the newest hold needs; their expiry moves only when less
  -- than that is left, or when the holds start again from none (their set and hash were gone).
  local keep = (math.ceil((tonumber(expiry) - now) / 1000) + 60) * 1000
  local done = {}
  for j = 0, n - 1 do
    local b = tonumber(a[9 + 2 * j])
    if not done[b] then
      done[b] = true
      redis.call('ZADD', KEYS[b + 2], expiry, id)
      redis.call('HSET', KEYS[b + 3], id, amount)
      local total = redis.call('INCRBY', KEYS[b + 4], amount)
      if total == amount or redis.call('PTTL', KEYS[b + 4]) < keep then
        for part = 2, 4 do redis.call('PEXPIRE', KEYS[b + part], 2 * keep) end
      end
    end
  end
  passed[op] = true
  return {0, amount}
end

-- A counter's expiry is set when it is made: it outlives its period (a month at most) by two months.
OPS.S = function(a, op)
  local id, actual, n = a[2], tonumber(a[3]), tonumber(a[4])
  local out = {}
  for j = 1, n do
    local b = tonumber(a[4 + j])
    local amount = redis.call('HGET', KEYS[b + 3], id)
    if amount then
      redis.call('HDEL', KEYS[b + 3], id)
      redis.call('ZREM', KEYS[b + 2], id)
      redis.call('DECRBY', KEYS[b + 4], amount)
    end
    out[j] = redis.call('INCRBY', KEYS[b + 1], actual)
    if out[j] == actual then redis.call('EXPIRE', KEYS[b + 1], COUNTER_TTL) end
  end
  return out
end
""".replace("{ttl}", str(COUNTER_TTL_SECONDS))

# KEYS: the counters' `c:` keys. ARGV: a value per counter, then the counter TTL (s).
RAISE = """
local raised = 0
local ttl = ARGV[#ARGV]
for i = 1, #KEYS do
  local want = tonumber(ARGV[i])
  if want > tonumber(redis.call('GET', KEYS[i]) or '0') then
    redis.call('SET', KEYS[i], want, 'EX', ttl)
    raised = raised + 1
  end
end
return raised
"""

# A new generation of counters, made from the usage records, only where the mark is gone (the first
# replica to get here wins; the others find the mark): every `c:` key goes (what settled since the data
# was lost is in the records too), the given values are set, then the mark.
# KEYS: the mark, then the counters' `c:` keys. ARGV: the generation, the TTL (s), the `c:` key pattern,
# then a value per counter.
CUT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local cursor = '0'
repeat
  local found = redis.call('SCAN', cursor, 'MATCH', ARGV[3], 'COUNT', 1000)
  cursor = found[1]
  for _, k in ipairs(found[2]) do redis.call('DEL', k) end
until cursor == '0'
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ARGV[2]) end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# Settles a cut wiped, added again once their records are known to be after it: only while the mark
# still names that generation (a later cut counted them from the records). KEYS: the mark, then `c:`
# keys. ARGV: the generation, the TTL (s), then an amount per counter.
CATCH_UP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[i + 1])
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return 1
"""


class Totals(list[int]):
    """A settle's new totals, and the generation of counters it landed in (None: the mark was gone)."""

    generation: str | None = None


def generation_key(prefix: str) -> str:
    """The key holding the counters' generation, present from the first cut on (also read by the usage
    writer process, `covey.usage.batches`)."""
    return f"{prefix}:seeded"


class RedisCounters:
    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        settle_delay: float = SETTLE_DELAY_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.prefix = prefix
        # Batches travel over one connection at a time; the rest (reports, repairs, readiness) is
        # occasional. A bounded pool: a burst waits instead of opening hundreds.
        self._pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=5, socket_timeout=2, socket_connect_timeout=5
        )
        self._client = aioredis.Redis(connection_pool=self._pool)
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # Present from the first cut on; a Redis that restarted without its data has lost it too.
        self._seeded = generation_key(prefix)
        # The rate-limit windows share the batch (`RedisRateLimits(batch=…)`): one round trip a request.
        # Every batch answers with the generation its operations met.
        self.batch = ScriptBatch(self._client, script(BUDGET_OPS, WINDOW_OPS), delay=settle_delay, tail=self._seeded)
        self._raise = self._client.register_script(RAISE)
        self._cut = self._sync.register_script(CUT)
        self._catch_up = self._sync.register_script(CATCH_UP)
        self._names: dict[str, list[str]] = {}

    @property
    def round_trips(self) -> int:
        return self.batch.round_trips

    def _keys(self, counter: str) -> list[str]:
        keys = self._names.get(counter)
        if keys is None:
            if len(self._names) > _NAMES_KEPT:
                self._names.clear()
            keys = self._names[counter] = [f"{self.prefix}:{part}:{counter}" for part in ("c", "r", "a", "t")]
        return keys

    async def reserve(
        self,
        *,
        reservation: str,
        checks: Sequence[Check],
        estimate: int,
        now: float,
        hold_seconds: float,
        least: int | None = None,
    ) -> Hold:
        now_ms = int(now * 1000)
        least = estimate if least is None else min(least, estimate)
        batch = self.batch
        words = [f"R {reservation} {estimate} {least} {now_ms} {now_ms + int(hold_seconds * 1000)}"]
        words.append(f"{batch.marked()} {len(checks)}")
        words += [f"{batch.slot(self._keys(check.counter))} {check.limit}" for check in checks]
        counters = [c.counter for c in checks]
        waiter = batch.queue(
            " ".join(words),
            error=CountersUnavailable,
            orphan=lambda answer: self._give_back(answer, reservation, counters),
        )
        batch.send_now()  # a request waits on it: at once (settles waiting for company go along)
        assert waiter is not None
        answer, _ = await waiter
        failed, amount = (int(v) for v in answer)
        return Hold(failed - 1, 0) if failed else Hold(None, amount)

    def _give_back(self, answer: Any, reservation: str, counters: Sequence[str]) -> None:
        """A hold made for a request that is gone: released with the next batch."""
        if int(answer[0]) == 0:
            self._queue_settle(reservation, counters, 0, wait=False)
            self.batch.send_soon()

    def _queue_settle(self, reservation: str, counters: Sequence[str], actual: int, *, wait: bool) -> Any:
        batch = self.batch
        words = [f"S {reservation} {actual} {len(counters)}"]
        words += [str(batch.slot(self._keys(c))) for c in counters]
        return batch.queue(" ".join(words), error=CountersUnavailable, wait=wait)

    async def settle(self, *, reservation: str, counters: Sequence[str], actual: int) -> list[int]:
        waiter = self._queue_settle(reservation, counters, actual, wait=True)
        self.batch.send_soon()  # nobody waits on it: with the next reservation, or after the delay
        answer, generation = await waiter
        totals = Totals(int(v) for v in answer)
        totals.generation = generation.decode() if isinstance(generation, bytes) else None
        return totals

    async def flush(self) -> None:
        """Send whatever waits, and wait for it (at shutdown)."""
        await self.batch.flush()

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
                await pipe.execute()
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def raise_to(self, values: Mapping[str, int]) -> int:
        if not values:
            return 0
        keys = [self._keys(c)[0] for c in values]
        try:
            return int(await self._raise(keys=keys, args=[*values.values(), COUNTER_TTL_SECONDS]))
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    async def generation(self) -> str | None:
        """The counters' generation now; None while the mark is gone."""
        try:
            value = await self._client.get(self._seeded)
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc
        return value.decode() if isinstance(value, bytes) else None

    def generation_sync(self) -> str | None:
        """The counters' generation now; None while the mark is gone (a worker thread)."""
        try:
            value = self._sync.get(self._seeded)
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc
        return value.decode() if isinstance(value, bytes) else None

    def cut_sync(self, values: Mapping[str, int], generation: str) -> bool:
        """Start `generation` from `values` unless a generation exists already (see CUT); whether it did."""
        keys = [self._seeded, *(self._keys(c)[0] for c in values)]
        pattern = _glob_escaped(f"{self.prefix}:c:") + "*"
        try:
            return bool(self._cut(keys=keys, args=[generation, COUNTER_TTL_SECONDS, pattern, *values.values()]))
        except _DOWN as exc:
            raise CountersUnavailable(str(exc)) from exc

    def catch_up_sync(self, values: Mapping[str, int], generation: str) -> bool:
        """Add `values` while the counters are still of `generation` (see CATCH_UP); whether they were."""
        keys = [self._seeded, *(self._keys(c)[0] for c in values)]
        try:
            return bool(self._catch_up(keys=keys, args=[generation, COUNTER_TTL_SECONDS, *values.values()]))
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
        await self.flush()
        await self._client.aclose()
        await self._pool.disconnect()
        self._sync.close()


def _glob_escaped(text: str) -> str:
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)
