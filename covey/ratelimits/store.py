"""Rate-limit windows behind one interface: `admit` counts a request against every limit at once, or
against none when one is full; `finish` releases its concurrency lease and adds its tokens.

Requests per minute is a sliding log (exact: the 6th request within any 60 s is refused), tokens per
minute a sliding sum of finished requests' tokens (a request is admitted while some are left), and
concurrency a set of leases that expire, so a crashed request's lease goes away by itself.

`MemoryRateLimits` is the embedded store (one process); `covey.ratelimits.redis_store` the shared one.
"""

from __future__ import annotations

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


class RateLimitStore(Protocol):
    kind: str

    async def admit(self, *, request: str, limits: Sequence[Limit], now: float, lease_seconds: float) -> Verdict: ...

    async def finish(self, *, request: str, limits: Sequence[Limit], now: float, tokens: int, cancel: bool) -> None:
        """Release the request's leases and add its tokens; `cancel` also takes back its request
        (it was refused after admission, e.g. by a budget, and never went upstream)."""
        ...

    def ping_sync(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Window:
    requests: dict[str, float] = field(default_factory=dict)  # request → time (insertion order is time order)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    token_total: int = 0
    leases: dict[str, float] = field(default_factory=dict)  # request → expiry

    def purge(self, now: float) -> None:
        start = now - WINDOW_SECONDS
        while self.requests:
            request, at = next(iter(self.requests.items()))
            if at > start:
                break
            del self.requests[request]
        while self.tokens and self.tokens[0][0] <= start:
            self.token_total -= self.tokens.popleft()[1]
        for request in [r for r, expiry in self.leases.items() if expiry <= now]:
            del self.leases[request]


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

    async def admit(self, *, request: str, limits: Sequence[Limit], now: float, lease_seconds: float) -> Verdict:
        standings = []
        for i, limit in enumerate(limits):
            w = self._window(limit.scope, now)
            if limit.kind == REQUESTS:
                oldest = next(iter(w.requests.values()), now)
                reset = oldest + WINDOW_SECONDS - now
                left = limit.amount - len(w.requests) - 1
            elif limit.kind == TOKENS:
                reset = w.tokens[0][0] + WINDOW_SECONDS - now if w.tokens else 0.0
                left = limit.amount - w.token_total
                if left <= 0:
                    return Verdict(failed=i, wait_seconds=reset)
            else:
                reset = 1.0
                left = limit.amount - len(w.leases) - 1
            if left < 0:
                return Verdict(failed=i, wait_seconds=reset)
            standings.append(Standing(limit=limit, remaining=left, reset_seconds=reset))
        for limit in limits:
            w = self._windows[limit.scope]
            if limit.kind == REQUESTS:
                w.requests[request] = now
            elif limit.kind == CONCURRENT:
                w.leases[request] = now + lease_seconds
        return Verdict(failed=None, standings=standings)

    async def finish(self, *, request: str, limits: Sequence[Limit], now: float, tokens: int, cancel: bool) -> None:
        for limit in limits:
            w = self._window(limit.scope, now)
            if limit.kind == CONCURRENT:
                w.leases.pop(request, None)
            elif limit.kind == REQUESTS and cancel:
                w.requests.pop(request, None)
            elif limit.kind == TOKENS and tokens > 0 and not cancel:
                w.tokens.append((now, tokens))
                w.token_total += tokens

    def ping_sync(self) -> None:
        return None

    async def close(self) -> None:
        return None
