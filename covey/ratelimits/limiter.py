"""Rate limiting on the gateway's hot path: admit before the upstream call, finish after.

The limits come compiled in the key's grant; the limiter counts them in its store and answers with
the headers OpenAI's API sends (`x-ratelimit-*`), or refuses with 429, `Retry-After` and the limit's
name. Without its store (Redis away), a request under a limit is refused with 503, as budgets do.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from covey.gateway.errors import GatewayError
from covey.ratelimits import rules
from covey.ratelimits.rules import Limit
from covey.ratelimits.store import RateLimitStore, RateLimitsUnavailable

log = logging.getLogger("covey.ratelimits")
UNAVAILABLE = (
    "Rate limits are unavailable (Redis is not reachable): requests under a rate limit are refused until it is back"
)

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Pass:
    """One admitted request: what it holds, and the headers its answer carries."""

    request: str
    limits: tuple[Limit, ...]
    headers: Headers = field(default_factory=list)
    finished: bool = False


class RateLimited(GatewayError):
    def __init__(self, limit: Limit, wait_seconds: float, headers: Headers) -> None:
        super().__init__(429, limit.refusal(), headers=[(b"retry-after", rules.retry_after(wait_seconds)), *headers])
        self.limit = limit


class RateLimiter:
    def __init__(
        self,
        *,
        store: RateLimitStore,
        lease_seconds: float,
        on_refusal: Callable[[Limit], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        self.on_refusal = on_refusal
        self.clock = clock
        self._prefix = secrets.token_hex(6)  # request ids unique across replicas
        self._ids = itertools.count()

    async def admit(self, limits: Sequence[Limit]) -> Pass | None:
        """Count the request against every limit, or refuse it (429 naming the first full limit)."""
        if not limits:
            return None
        request = f"{self._prefix}-{next(self._ids)}"
        try:
            verdict = await self.store.admit(
                request=request, limits=limits, now=self.clock(), lease_seconds=self.lease_seconds
            )
        except RateLimitsUnavailable as exc:
            log.error("rate-limit windows unavailable: %s", exc)
            raise GatewayError(503, UNAVAILABLE) from None
        if verdict.failed is not None:
            limit = limits[verdict.failed]
            if self.on_refusal is not None:
                self.on_refusal(limit)
            full = rules.Standing(limit=limit, remaining=0, reset_seconds=verdict.wait_seconds)
            raise RateLimited(limit, verdict.wait_seconds, rules.headers([full]))
        return Pass(request=request, limits=tuple(limits), headers=rules.headers(verdict.standings))

    async def finish(self, admitted: Pass | None, *, tokens: int, cancel: bool = False) -> None:
        """Release the request's leases and count its tokens. Never raises: a lease that cannot be
        released expires by itself."""
        if admitted is None or admitted.finished:
            return
        admitted.finished = True
        try:
            await self.store.finish(
                request=admitted.request, limits=admitted.limits, now=self.clock(), tokens=tokens, cancel=cancel
            )
        except RateLimitsUnavailable as exc:
            log.error("finishing %s on the rate-limit windows failed (its lease expires): %s", admitted.request, exc)
