"""Rate limiting on the gateway's hot path: admit before the upstream call, finish after.

The limits come compiled in the key's grant; the limiter counts them in its store and answers with
the headers OpenAI's API sends (`x-ratelimit-*`), or refuses with 429, `Retry-After` and the limit's
name. A request is admitted under a tokens-per-minute limit holding its estimate (prompt bound plus
output cap), settled to the tokens it used when it finishes. Without its store (Redis away), a
request under a limit is refused with 503, as budgets do.

Admission is queued (`admit`) before the budget reservation and awaited after it (`admitted`): in
Redis both travel in one round trip, the reservation made only when the limits admit the request.
`hold` and `finish` queue and never wait; the answer goes out meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from covey.gateway.errors import GatewayError
from covey.ratelimits import rules
from covey.ratelimits.rules import Limit
from covey.ratelimits.store import RateLimitStore, RateLimitsUnavailable, Verdict

log = logging.getLogger("covey.ratelimits")
UNAVAILABLE = (
    "Rate limits are unavailable (Redis is not reachable): requests under a rate limit are refused until it is back"
)

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Pending:
    """An admission on its way: its verdict comes with the next round trip."""

    request: str
    limits: tuple[Limit, ...]
    verdict: asyncio.Future[Verdict]


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

    def admit(self, limits: Sequence[Limit], *, tokens: int = 0, least: int | None = None) -> Pending | None:
        """Count the request against every limit (`admitted` has the verdict). On tokens-per-minute
        limits it holds `tokens` — or, given `least`, as much as the tightest has room for, down to
        `least` (`Pass.held` says how much). A refusal known at once raises here: 429 (in process), or
        400 for a request larger than a whole minute's tokens."""
        if not limits:
            return None
        needs = tokens if least is None else min(least, tokens)
        for limit in limits:
            if limit.kind == rules.TOKENS and needs > limit.amount:
                raise TooLarge(limit, needs)
        request = f"{self._prefix}-{next(self._ids)}"
        verdict = self.store.admit(
            request=request,
            limits=limits,
            now=self.clock(),
            lease_seconds=self.lease_seconds,
            tokens=tokens,
            least=least,
        )
        pending = Pending(request=request, limits=tuple(limits), verdict=verdict)
        if verdict.done() and verdict.exception() is None and verdict.result().failed is not None:
            self._refuse(pending, verdict.result())
        return pending

    async def admitted(self, pending: Pending | None) -> Pass | None:
        """The request's pass, or its refusal: 429 naming the first full limit, 503 without the store."""
        if pending is None:
            return None
        try:
            verdict = await pending.verdict
        except RateLimitsUnavailable as exc:
            log.error("rate-limit windows unavailable: %s", exc)
            raise GatewayError(503, UNAVAILABLE) from None
        if verdict.failed is not None:
            self._refuse(pending, verdict)
        headers = rules.headers(verdict.standings)
        return Pass(request=pending.request, limits=pending.limits, headers=headers, held=verdict.held)

    def _refuse(self, pending: Pending, verdict: Verdict) -> None:
        assert verdict.failed is not None
        limit = pending.limits[verdict.failed]
        if self.on_refusal is not None:
            self.on_refusal(limit)
        full = rules.Standing(limit=limit, remaining=0, reset_seconds=verdict.wait_seconds)
        raise RateLimited(limit, verdict.wait_seconds, rules.headers([full]))

    def cancel(self, pending: Pending | None) -> None:
        """Take the request and its estimate back (refused after admission, e.g. by a budget, it never
        went upstream): once its verdict is in, if it was admitted."""
        if pending is None:
            return
        if pending.verdict.done():
            self._take_back(pending)
        else:
            pending.verdict.add_done_callback(lambda _: self._take_back(pending))

    def _take_back(self, pending: Pending) -> None:
        verdict = pending.verdict
        if verdict.cancelled() or verdict.exception() is not None or verdict.result().failed is not None:
            return
        self.store.finish(request=pending.request, limits=pending.limits, now=self.clock(), tokens=0, cancel=True)

    def hold(self, admitted: Pass | None, tokens: int) -> None:
        """Lower what an admitted request holds to `tokens` (its cap was lowered since): queued, never
        waited for; what it still holds is settled when it finishes."""
        if admitted is None or admitted.finished or tokens >= admitted.held:
            return
        self.store.hold(request=admitted.request, limits=admitted.limits, tokens=tokens)
        admitted.held = tokens

    def finish(self, admitted: Pass | None, *, tokens: int) -> None:
        """Release the request's leases and count the tokens it used in place of what it held: queued,
        never waited for, never raises (a lease or an estimate that cannot be released expires by
        itself)."""
        if admitted is None or admitted.finished:
            return
        admitted.finished = True
        self.store.finish(
            request=admitted.request, limits=admitted.limits, now=self.clock(), tokens=tokens, cancel=False
        )
