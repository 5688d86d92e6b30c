"""Spend counters in Redis, shared by every gateway replica. Reservations and settles go in batches:
whatever reached the process while the previous round trip was on its way travels in the next one, as
one Lua script that runs each operation atomically and in arrival order. A reservation across several
counters is all or nothing; a request waits one round trip for its reservation and none for its settle.

Keys, under the configured prefix, per counter: `c:<counter>` settled spend, `r:<counter>` a sorted set
of reservation ids scored by expiry (ms), `a:<counter>` reservation id → amount, `t:<counter>` the sum
of live reservations. Expired reservations are purged inside the scripts, so a crashed request's
hold disappears without any job.

`<prefix>:seeded` holds the counters' generation: a token set when they are made from the usage
records (`cut`). A Redis that lost its data has none until the next cut; every batch answers with the
generation its settles landed in, so the usage writer can tell which settles a cut wiped
(`covey.budgets.cut`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from covey.budgets.counters import Check, CountersUnavailable, Hold

# Counters outlive their period long enough for month-end reports and `covey doctor`.
COUNTER_TTL_SECONDS = 100 * 86400
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
MAX_CONNECTIONS = 16
# How long a settle may wait for a reservation to travel with before it goes alone. Nobody waits for
# a settle, and until it lands its request's hold keeps the room taken, so waiting never overspends.
SETTLE_DELAY_SECONDS = 0.002
_NAMES_KEPT = 100_000

# One script carries a batch of operations: every reservation and settle that reached this process
# while the previous batch was on its way, in arrival order. Each operation runs as if alone (Redis runs
# a script atomically), so a batch is exactly the same operations sent one by one, in one round trip.
#
# KEYS: 4 per distinct counter of the batch (c, r, a, t), then the generation mark. ARGV: the counter TTL
# (s), then the operations:
#   R id estimate least now(ms) expiry(ms) n  then n × (counter, limit)
#                                       hold `estimate` on every check, or the least room of any when
#                                       that is at least `least`, or nothing
#   S id actual n                       then n × counter            release the hold, add the cost
# where `counter` is the counter's position among the batch's counters (1-based). One answer per
# operation: a reservation's is {0, amount held}, else {the (1-based) check without room, 0}; a settle's
# the new totals; after them, the generation (nil when the mark is gone). A new kind of check (a
# rate-limit window) is one more handler in OPS.
BATCH = """
local ttl = ARGV[1]
local purged = {}

local function key(i, part) return KEYS[(i - 1) * 4 + part] end

-- Drop reservations that expired by `now` (a crashed request's hold), once per counter and instant.
local function purge(i, now)
  if purged[i] ~= nil and purged[i] >= now then return end
  purged[i] = now
  local r, a, t = key(i, 2), key(i, 3), key(i, 4)
  local old = redis.call('ZRANGEBYSCORE', r, '-inf', now)
  for _, id in ipairs(old) do
    local amount = tonumber(redis.call('HGET', a, id) or '0')
    redis.call('HDEL', a, id)
    redis.call('DECRBY', t, amount)
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', r, '-inf', now) end
end

local OPS = {}

OPS.R = function(p)
  local id, estimate, least = ARGV[p], tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2])
  local now, expiry, n = tonumber(ARGV[p + 3]), ARGV[p + 4], tonumber(ARGV[p + 5])
  local first, after = p + 6, p + 6 + 2 * n
  for j = 0, n - 1 do purge(tonumber(ARGV[first + 2 * j]), now) end
  local amount = estimate
  for j = 0, n - 1 do
    local i = tonumber(ARGV[first + 2 * j])
    local spent = tonumber(redis.call('GET', key(i, 1)) or '0')
    local held = tonumber(redis.call('GET', key(i, 4)) or '0')
    local room = tonumber(ARGV[first + 2 * j + 1]) - spent - held
    if room < least then return {j + 1, 0}, after end
    if room < amount then amount = room end
  end
  local keep = math.ceil((tonumber(expiry) - now) / 1000) + 60
  local done = {}
  for j = 0, n - 1 do
    local i = tonumber(ARGV[first + 2 * j])
    if not done[i] then
      done[i] = true
      redis.call('ZADD', key(i, 2), expiry, id)
      redis.call('HSET', key(i, 3), id, amount)
      redis.call('INCRBY', key(i, 4), amount)
      for part = 2, 4 do redis.call('EXPIRE', key(i, part), keep) end
    end
  end
  return {0, amount}, after
end

OPS.S = function(p)
  local id, actual, n = ARGV[p], ARGV[p + 1], tonumber(ARGV[p + 2])
  local out = {}
  for j = 1, n do
    local i = tonumber(ARGV[p + 2 + j])
    local amount = redis.call('HGET', key(i, 3), id)
    if amount then
      redis.call('HDEL', key(i, 3), id)
      redis.call('ZREM', key(i, 2), id)
      redis.call('DECRBY', key(i, 4), amount)
    end
    out[j] = redis.call('INCRBY', key(i, 1), actual)
    redis.call('EXPIRE', key(i, 1), ttl)
  end
  return out, p + 3 + n
end

local answers = {}
local p = 2
while p <= #ARGV do
  local answer
  answer, p = OPS[ARGV[p]](p + 1)
  answers[#answers + 1] = answer
end
answers[#answers + 1] = redis.call('GET', KEYS[#KEYS])
return answers
"""

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


class _Batch:
    """Operations waiting for the next round trip: the script's keys and arguments, and who waits for
    each answer."""

    __slots__ = ("args", "holds", "index", "keys", "waiters")

    def __init__(self, ttl: int) -> None:
        self.index: dict[str, int] = {}
        self.keys: list[str] = []
        self.args: list[str | int] = [ttl]
        self.waiters: list[asyncio.Future[Any]] = []
        # Per operation, for a reservation: (id, counters), to release it should its request be gone.
        self.holds: list[tuple[str, Sequence[str]] | None] = []

    def slot(self, counter: str, keys: Callable[[str], list[str]]) -> int:
        at = self.index.get(counter)
        if at is None:
            at = self.index[counter] = len(self.index) + 1
            self.keys += keys(counter)
        return at


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
        # Reservations and settles travel in batches over one connection at a time; the rest (reports,
        # repairs, readiness) is occasional. A bounded pool: a burst waits instead of opening hundreds.
        self._pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=5, socket_timeout=2, socket_connect_timeout=5
        )
        self._client = aioredis.Redis(connection_pool=self._pool)
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._batch_script = self._client.register_script(BATCH)
        self._raise = self._client.register_script(RAISE)
        self._cut = self._sync.register_script(CUT)
        self._catch_up = self._sync.register_script(CATCH_UP)
        # Present from the first seed on; a Redis that restarted without its data has lost it too.
        self._seeded = f"{prefix}:seeded"
        self.settle_delay = settle_delay
        self._batch = _Batch(COUNTER_TTL_SECONDS)
        self._sending: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._names: dict[str, list[str]] = {}
        self.round_trips = 0  # batches sent: operations / round_trips is the batching achieved

    def _keys(self, counter: str) -> list[str]:
        keys = self._names.get(counter)
        if keys is None:
            if len(self._names) > _NAMES_KEPT:
                self._names.clear()
            keys = self._names[counter] = [f"{self.prefix}:{part}:{counter}" for part in ("c", "r", "a", "t")]
        return keys

    def _queue(self, op: list[str | int], counters: Sequence[str], limits: Sequence[int] | None) -> asyncio.Future[Any]:
        batch = self._batch
        op.append(len(counters))
        if limits is None:
            op += [batch.slot(c, self._keys) for c in counters]
            batch.holds.append(None)
        else:
            for counter, limit in zip(counters, limits, strict=True):
                op += [batch.slot(counter, self._keys), limit]
            batch.holds.append((str(op[1]), counters))
        batch.args += op
        waiter = asyncio.get_running_loop().create_future()
        batch.waiters.append(waiter)
        return waiter

    def _send_now(self) -> None:
        """Start a round trip unless one is on its way: that one sends what has gathered when it returns."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending is None and self._batch.waiters:
            self._sending = asyncio.get_running_loop().create_task(self._send(), name="covey-budget-batch")

    def _send_soon(self) -> None:
        if self._sending is None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.settle_delay, self._send_now)

    async def _send(self) -> None:
        try:
            while self._batch.waiters:
                batch, self._batch = self._batch, _Batch(COUNTER_TTL_SECONDS)
                self.round_trips += 1
                try:
                    *answers, generation = await self._batch_script(keys=[*batch.keys, self._seeded], args=batch.args)
                except _DOWN as exc:
                    for waiter in batch.waiters:
                        if not waiter.done():
                            waiter.set_exception(CountersUnavailable(str(exc)))
                    continue
                for waiter, answer, hold in zip(batch.waiters, answers, batch.holds, strict=True):
                    if not waiter.done():
                        waiter.set_result((answer, generation))
                    elif hold is not None and answer[0] == 0:  # held for a request that is gone: give it back
                        self._queue(["S", hold[0], 0], hold[1], None)
        finally:
            self._sending = None

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
        op: list[str | int] = ["R", reservation, estimate, least, now_ms, now_ms + int(hold_seconds * 1000)]
        waiter = self._queue(op, [c.counter for c in checks], [c.limit for c in checks])
        self._send_now()  # a request waits on it: at once (settles waiting for company go along)
        answer, _ = await waiter
        failed, amount = (int(v) for v in answer)
        return Hold(failed - 1, 0) if failed else Hold(None, amount)

    async def settle(self, *, reservation: str, counters: Sequence[str], actual: int) -> list[int]:
        waiter = self._queue(["S", reservation, actual], counters, None)
        self._send_soon()  # nobody waits on it: with the next reservation, or after `settle_delay`
        answer, generation = await waiter
        totals = Totals(int(v) for v in answer)
        totals.generation = generation.decode() if isinstance(generation, bytes) else None
        return totals

    async def flush(self) -> None:
        """Send whatever waits, and wait for it (at shutdown)."""
        self._send_now()
        while self._sending is not None:
            await asyncio.shield(self._sending)

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
