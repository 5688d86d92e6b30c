"""Rate-limit windows behind one interface: `admit` counts a request against every limit at once, or
against none when one is full; `finish` releases its concurrency lease and settles its tokens.

Requests per minute is a sliding log (exact: the 6th request within any 60 s is refused) and
concurrency a set of leases that expire, so a crashed request's lease goes away by itself. Tokens per
minute is a sliding sum: a request holds its estimate (the most its prompt and output cap can use)
while in flight, and once finished counts the tokens it used for 60 s; it is admitted only when the
estimate fits in what is left — or, given `least`, as much of it as is left, down to `least` — so
requests in flight together can never take a limit past its amount (docs/design.md §4). An estimate
whose request never finishes is dropped a minute after its lease ends.

None of it waits on the hot path: `admit`'s verdict comes with the next round trip (Redis: together
with the request's budget reservation) or at once (in process); `hold` and `finish` only queue.

`MemoryRateLimits` is the embedded store (one process); `covey.ratelimits.redis_store` the shared one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from covey.ratelimits.rules import CONCURRENT, REQUESTS, TOKENS, WINDOW_SECONDS, Limit, Standing


class RateLimitsUnavailable(Exception):
    """The window store cannot be reached: rate limits cannot be checked."""


@dataclass(frozen=True, slots=True)
class Verdict:
    failed: int | None  # the index of the first limit without room (nothing counted then)
    wait_seconds: float = 0.0  # when refused: until that limit frees room
    standings: list[Standing] = field(default_factory=list)  # when admitted: what each limit has left
    held: int = 0  # when admitted: the tokens held on its tokens-per-minute limits (≤ the estimate)


class RateLimitStore(Protocol):
    kind: str

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
        """Count the request on every limit, holding `tokens` (or, given `least`, all the room the
        tightest tokens limit has when that is less, down to `least`) on its tokens limits; the
        verdict, or `RateLimitsUnavailable`."""
        ...

    def hold(self, *, request: str, limits: Sequence[Limit], tokens: int) -> None:
        """Lower the tokens an admitted request holds (its cap was lowered after admission)."""
        ...

    def finish(self, *, request: str, limits: Sequence[Limit], now: float, tokens: int, cancel: bool) -> None:
        """Release the request's leases and count the tokens it used in place of its estimate; `cancel`
        takes back its request and its estimate (it was refused after admission, e.g. by a budget, and
        never went upstream)."""
        ...

    async def flush(self) -> None:
        """Until everything queued has landed."""
        ...

    def ping_sync(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Window:
    """One limit's window. Every dict keeps its entries in the order they were made, which is the order
    they expire (one lease length per process, a clock that moves forward), so a purge reads only the
    oldest entries: its cost does not grow with the requests in flight. (An entry made out of order,
    after the clock stepped back, waits for the older ones: it ends a little late, never early.)"""

    requests: dict[str, float] = field(default_factory=dict)  # request → time
    tokens: deque[tuple[float, int]] = field(default_factory=deque)  # finished requests: (time, tokens)
    held: dict[str, tuple[float, int]] = field(default_factory=dict)  # in flight: request → (lease end, estimate)
    token_total: int = 0  # of both
    leases: dict[str, float] = field(default_factory=dict)  # request → expiry

    def purge(self, now: float) -> None:
        start = now - WINDOW_SECONDS
        requests, held, leases = self.requests, self.held, self.leases
        while requests:
            request, at = next(iter(requests.items()))
            if at > start:
                break
            del requests[request]
        while self.tokens and self.tokens[0][0] <= start:
            self.token_total -= self.tokens.popleft()[1]
        while held:
            request, (expiry, estimate) = next(iter(held.items()))
            if expiry > start:
                break
            del held[request]
            self.token_total -= estimate
        while leases:
            request, expiry = next(iter(leases.items()))
            if expiry > now:
                break
            del leases[request]

    def token_reset(self, now: float) -> float:
        """Until the oldest finished request's tokens leave the window; a second while only requests
        in flight hold them."""
        return self.tokens[0][0] + WINDOW_SECONDS - now if self.tokens else 1.0

    def unhold(self, request: str) -> None:
        self.token_total -= self.held.pop(request, (0.0, 0))[1]


class MemoryRateLimits:
    """Windows in this process (the event loop is their only user)."""

    kind = "memory"

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}

    def _window(self, scope: str, now: float) -> _Window:
        window = self._windows.get(scope)
        if window is None:
            window = self._windows[scope] = _Window()
        window.purge(now)
        return window

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
        verdict: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        verdict.set_result(self._admit(request, limits, now, lease_seconds, tokens, least))
        return verdict

    def _admit(
        self, request: str, limits: Sequence[Limit], now: float, lease_seconds: float, tokens: int, least: int | None
    ) -> Verdict:
        least = max(1, min(tokens, tokens if least is None else least))
        held = tokens
        rooms: list[tuple[int, float]] = []
        for i, limit in enumerate(limits):
            w = self._window(limit.scope, now)
            if limit.kind == REQUESTS:
                oldest = next(iter(w.requests.values()), now)
                reset = oldest + WINDOW_SECONDS - now
                left = limit.amount - len(w.requests) - 1
            elif limit.kind == TOKENS:
                reset = w.token_reset(now)
                left = limit.amount - w.token_total
                if left < least:
                    return Verdict(failed=i, wait_seconds=reset)
                held = min(held, left)
            else:
                reset = 1.0
                left = limit.amount - len(w.leases) - 1
            if left < 0:
                return Verdict(failed=i, wait_seconds=reset)
            rooms.append((left, reset))
        standings = []
        for limit, (left, reset) in zip(limits, rooms, strict=True):
            w = self._windows[limit.scope]
            if limit.kind == REQUESTS:
                w.requests[request] = now
            elif limit.kind == CONCURRENT:
                w.leases[request] = now + lease_seconds
            elif held > 0:
                w.held[request] = (now + lease_seconds, held)
                w.token_total += held
                left -= held
            standings.append(Standing(limit=limit, remaining=left, reset_seconds=reset))
        return Verdict(failed=None, standings=standings, held=held if any(x.kind == TOKENS for x in limits) else 0)

    def hold(self, *, request: str, limits: Sequence[Limit], tokens: int) -> None:
        for limit in limits:
            w = self._windows.get(limit.scope)
            if limit.kind == TOKENS and w is not None and request in w.held:
                expiry, had = w.held[request]
                w.held[request] = (expiry, min(had, tokens))
                w.token_total -= had - min(had, tokens)

    def finish(self, *, request: str, limits: Sequence[Limit], now: float, tokens: int, cancel: bool) -> None:
        for limit in limits:
            w = self._window(limit.scope, now)
            if limit.kind == CONCURRENT:
                w.leases.pop(request, None)
            elif limit.kind == REQUESTS and cancel:
                w.requests.pop(request, None)
            elif limit.kind == TOKENS:
                w.unhold(request)
                if tokens > 0 and not cancel:
                    w.tokens.append((now, tokens))
                    w.token_total += tokens

    async def flush(self) -> None:
        return None

    def ping_sync(self) -> None:
        return None

    async def close(self) -> None:
        return None
