"""Operations on Redis that travel together. Whatever reached the process while the previous round trip
was on its way goes in the next one, as one Lua script (one EVALSHA) that runs each operation
atomically and in arrival order: a batch is exactly the same operations sent one by one.

The script is made of handlers, one per kind of operation. An operation is one argument, its words
separated by spaces (`R id 40 …`: one string to encode and send, not dozens); the handler
`OPS.R = function(a, op)` gets them as `a[1]` (the code) on, reads its keys as `KEYS[base + part]` (a
key set several operations use is sent once, see `slot`), and returns its answer. A handler sets
`passed[op]` when its operation went through, so a later operation of the batch can be made only if
an earlier one passed (`mark`, `marked`). After its operations a batch reads one more key, its `tail`,
and every answer comes with that value (the budget counters' generation).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("covey.redis")
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

_SCRIPT = """
local OPS, passed, answers = {}, {}, {}
{handlers}
for op = 1, #ARGV do
  local a = {}
  for word in string.gmatch(ARGV[op], '%S+') do a[#a + 1] = word end
  answers[op] = OPS[a[1]](a, op)
end
answers[#answers + 1] = redis.call('GET', KEYS[#KEYS])
return answers
"""


def script(*handlers: str) -> str:
    """The batch script carrying these handlers' operations."""
    return _SCRIPT.replace("{handlers}", "\n".join(handlers))


class _Pending:
    """Operations waiting for the next round trip: the script's keys and arguments, and per operation
    who waits for its answer, what to raise when Redis is away, and what to do with an answer nobody
    waits for any more."""

    __slots__ = ("args", "errors", "index", "keys", "marks", "orphans", "waiters")

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.keys: list[str] = []
        self.args: list[str] = []
        self.waiters: list[asyncio.Future[Any] | None] = []
        self.errors: list[type[Exception]] = []
        self.orphans: list[Callable[[Any], None] | None] = []
        self.marks: dict[asyncio.Task[Any], int] = {}


class ScriptBatch:
    def __init__(self, client: aioredis.Redis, source: str, *, delay: float, tail: str) -> None:
        self._script = client.register_script(source)
        self.tail = tail
        # How long an operation nobody waits for may wait for company before it goes alone.
        self.delay = delay
        self._pending = _Pending()
        self._sending: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.round_trips = 0  # batches sent: operations / round_trips is the batching achieved
        self.operations = 0

    def slot(self, keys: Sequence[str]) -> int:
        """Where `keys` begin among the next batch's KEYS (the handler reads `KEYS[base + 1]` on)."""
        pending = self._pending
        base = pending.index.get(keys[0])
        if base is None:
            base = pending.index[keys[0]] = len(pending.keys)
            pending.keys += keys
        return base

    def marked(self) -> int:
        """The (1-based) operation of the next batch that the running task queued with `mark`, or 0."""
        task = asyncio.current_task()
        return self._pending.marks.get(task, 0) if task is not None else 0

    def queue(
        self,
        op: str,
        *,
        error: type[Exception],
        wait: bool = True,
        orphan: Callable[[Any], None] | None = None,
        mark: bool = False,
    ) -> asyncio.Future[Any] | None:
        """Adds an operation (its words, no word with a space in it) to the next batch; its answer comes
        in the future returned (`wait`) as (answer, the batch's tail value), or goes to `orphan` when its
        waiter is gone by then. Sends nothing: see `send_now`, `send_soon`."""
        pending = self._pending
        pending.args.append(op)
        pending.errors.append(error)
        pending.orphans.append(orphan)
        waiter = asyncio.get_running_loop().create_future() if wait else None
        pending.waiters.append(waiter)
        if mark and (task := asyncio.current_task()) is not None:
            pending.marks[task] = len(pending.waiters)
        return waiter

    def send_now(self) -> None:
        """Start a round trip unless one is on its way: that one sends what has gathered when it returns.
        The trip starts once the running task waits, so what it queues until then travels along."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sending is None and self._pending.waiters:
            self._sending = asyncio.get_running_loop().create_task(self._send(), name="covey-redis-batch")

    def send_soon(self) -> None:
        """With the next operation someone waits for, or after `delay`."""
        if self._sending is None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self.send_now)

    async def _send(self) -> None:
        try:
            while self._pending.waiters:
                batch, self._pending = self._pending, _Pending()
                self.round_trips += 1
                self.operations += len(batch.waiters)
                try:
                    *answers, tail = await self._script(keys=[*batch.keys, self.tail], args=batch.args)
                except (*DOWN, ResponseError) as exc:
                    self._failed(batch, exc)
                    continue
                for waiter, answer, orphan in zip(batch.waiters, answers, batch.orphans, strict=True):
                    if waiter is not None and not waiter.done():
                        waiter.set_result((answer, tail))
                    elif orphan is not None:
                        orphan(answer)
        finally:
            self._sending = None

    def _failed(self, batch: _Pending, exc: Exception) -> None:
        if isinstance(exc, ResponseError):  # the script itself failed: a bug, logged in full
            log.error("a batch of %d operations failed in Redis: %s", len(batch.waiters), exc)
        lost = 0
        for waiter, error in zip(batch.waiters, batch.errors, strict=True):
            if waiter is None:
                lost += 1
            elif not waiter.done():
                waiter.set_exception(error(str(exc)))
        if lost:
            log.error("%d operations nobody waited for did not reach Redis: %s", lost, exc)

    async def flush(self) -> None:
        """Send whatever waits, and wait for it (at shutdown)."""
        self.send_now()
        while self._sending is not None:
            await asyncio.shield(self._sending)
