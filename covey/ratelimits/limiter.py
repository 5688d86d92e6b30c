"""Rate limiting on the gateway's hot path: admit before the upstream call, finish after.

The limits come compiled in the key's grant; the limiter counts them in its store and answers with
the headers OpenAI's API sends (`x-ratelimit-*`), or refuses with 429, `Retry-After` and the limit's
name. A request is admitted under a tokens-per-minute limit holding its estimate (prompt bound plus
output cap), settled to the tokens it used when it finishes. Without its store (Redis away), a
request under a limit is refused with 503, as budgets do.
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
    held: int = 0  # tokens held on its tokens-per-minute limits
    finished: bool = False

    @property
    def counts_tokens(self) -> bool:
        return any(limit.kind == rules.TOKENS for limit in self.limits)


class RateLimited(GatewayError):
    def __init__(self, limit: Limit, wait_seconds: float, headers: Headers) -> None:
        super().__init__(429, limit.refusal(), headers=[(b"retry-after", rules.retry_after(wait_seconds)), *headers])
        self.limit = limit


class TooLarge(GatewayError):
    """More tokens than a tokens-per-minute limit allows in a whole minute: no wait would let it
    through, so it is bad input (400 naming `max_tokens`), not a 429 to retry."""

    def __init__(self, limit: Limit, least: int) -> None:
        super().__init__(400, limit.too_large(least))
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

    async def admit(self, limits: Sequence[Limit], *, tokens: int = 0, least: int | None = None) -> Pass | None:
        """Count the request against every limit, or refuse it (429 naming the first full limit). On
        tokens-per-minute limits it holds `tokens` — or, given `least`, as much as the tightest has
        room for, down to `least` (`Pass.held` says how much)."""
        if not limits:
            return None
        needs = tokens if least is None else min(least, tokens)
        for limit in limits:
            if limit.kind == rules.TOKENS and needs > limit.amount:
                raise TooLarge(limit, needs)
        request = f"{self._prefix}-{next(self._ids)}"
        try:
            verdict = await self.store.admit(
                request=request,
                limits=limits,
                now=self.clock(),
                lease_seconds=self.lease_seconds,
                tokens=tokens,
                least=least,
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
        return Pass(request=request, limits=tuple(limits), headers=rules.headers(verdict.standings), held=verdict.held)

    async def hold(self, admitted: Pass | None, tokens: int) -> None:
        """Lower what an admitted request holds to `tokens` (its cap was lowered since). Never raises:
        what it still holds is settled when it finishes."""
        if admitted is None or admitted.finished or tokens >= admitted.held:
            return
        try:
            await self.store.hold(request=admitted.request, limits=admitted.limits, tokens=tokens)
            admitted.held = tokens
        except RateLimitsUnavailable as exc:
            log.error("lowering %s on the rate-limit windows failed: %s", admitted.request, exc)

    async def finish(self, admitted: Pass | None, *, tokens: int, cancel: bool = False) -> None:
        """Release the request's leases and count the tokens it used in place of what it held. Never
        raises: a lease or an estimate that cannot be released expires by itself."""
        if admitted is None or admitted.finished:
            return
        admitted.finished = True
        try:
            await self.store.finish(
                request=admitted.request, limits=admitted.limits, now=self.clock(), tokens=tokens, cancel=cancel
            )
        except RateLimitsUnavailable as exc:
            log.error("finishing %s on the rate-limit windows failed (its lease expires): %s", admitted.request, exc)
