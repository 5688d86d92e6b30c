"""Rate limits and which of them apply to a request (docs/design.md §4), as pure functions, compiled into each
key's grant so the hot path only counts.

Limits sit on the same owners as budget lines: the key, its owner, the owner's traffic through each
charged group (the group's per-member limits and Requesty's member `rate_limit`), each charged group
(its whole subtree) and the org. A request must pass every one; the tightest one names the headers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

REQUESTS = "requests_per_minute"
TOKENS = "tokens_per_minute"
CONCURRENT = "concurrent"
KINDS = (REQUESTS, TOKENS, CONCURRENT)
WINDOW_SECONDS = 60
_UNITS = {REQUESTS: "requests per minute", TOKENS: "tokens per minute", CONCURRENT: "concurrent requests"}
_NOUNS = {"key": "API key", "user": "user", "member": "group", "group": "group", "org": "organization"}


@dataclass(frozen=True, slots=True)
class Limit:
    scope: str  # the window it counts: `key:<id>`, `member:<group>:<user>`, `group:<id>`, …
    kind: str  # one of KINDS
    amount: int  # > 0
    label: str  # `group "Backend Engineers"`, for messages

    def refusal(self) -> str:
        """`Rate limit reached: 5 requests per minute on API key "ci"`."""
        per_member = " per member" if self.scope.startswith("member:") else ""
        return f"Rate limit reached: {self.amount} {_UNITS[self.kind]}{per_member} on {self.label}"

    def too_large(self, tokens: int) -> str:
        """A request that may use more tokens than this tokens-per-minute limit allows in a minute."""
        per_member = " per member" if self.scope.startswith("member:") else ""
        return (
            f"Request too large for {self.amount} {_UNITS[self.kind]}{per_member} on {self.label}: "
            f"it may use {tokens} tokens (prompt and output cap); lower max_tokens or shorten the prompt"
        )


@dataclass(frozen=True, slots=True)
class Owner:
    """One owner's settings: `limits` as stored (`{"requests_per_minute": 5}`), its name for messages."""

    type: str  # key | user | member | group | org
    id: str  # for `member`: "<group id>:<user id>"
    name: str
    limits: Mapping[str, object] | None


def normalized(limits: Mapping[str, object] | None) -> dict[str, int]:
    """The limits that limit something: positive integers of known kinds (0 or null = none)."""
    if not limits:
        return {}
    return {k: v for k, v in limits.items() if k in KINDS and isinstance(v, int) and not isinstance(v, bool) and v > 0}


def compile_limits(owners: Iterable[Owner]) -> tuple[Limit, ...]:
    """Every limit of the owners given, in check order; where one window has two limits of a kind
    (a group's per-member limit and the member's own `rate_limit`), the lower holds."""
    out: dict[tuple[str, str], Limit] = {}
    for owner in owners:
        scope = f"{owner.type}:{owner.id}"
        label = f'{_NOUNS[owner.type]} "{owner.name}"'
        for kind, amount in normalized(owner.limits).items():
            have = out.get((scope, kind))
            if have is None or amount < have.amount:
                out[scope, kind] = Limit(scope=scope, kind=kind, amount=amount, label=label)
    return tuple(out.values())


def member_limits(per_member: Mapping[str, object] | None, rate_limit: int | None) -> dict[str, object]:
    """A member's limits through one group: the group's per-member limits, with the member's own
    `rate_limit` (requests per minute) where it is lower."""
    limits: dict[str, object] = dict(normalized(per_member))
    if rate_limit is not None and rate_limit > 0:
        have = limits.get(REQUESTS)
        limits[REQUESTS] = min(rate_limit, have) if isinstance(have, int) else rate_limit
    return limits


@dataclass(frozen=True, slots=True)
class Standing:
    """A limit and how much of it is left once this request is admitted."""

    limit: Limit
    remaining: int
    reset_seconds: float  # until the window frees room


def tightest(standings: Sequence[Standing], kind: str) -> Standing | None:
    """The limit of a kind with the least left (the lowest amount on a tie), for the headers."""
    of_kind = [s for s in standings if s.limit.kind == kind]
    return min(of_kind, key=lambda s: (s.remaining, s.limit.amount)) if of_kind else None


def headers(standings: Sequence[Standing]) -> list[tuple[bytes, bytes]]:
    """OpenAI's `x-ratelimit-*` headers for the tightest requests and tokens limits."""
    out: list[tuple[bytes, bytes]] = []
    for kind, noun in ((REQUESTS, b"requests"), (TOKENS, b"tokens")):
        s = tightest(standings, kind)
        if s is None:
            continue
        out += [
            (b"x-ratelimit-limit-" + noun, str(s.limit.amount).encode()),
            (b"x-ratelimit-remaining-" + noun, str(max(s.remaining, 0)).encode()),
            (b"x-ratelimit-reset-" + noun, f"{max(s.reset_seconds, 0):.3f}s".encode()),
        ]
    return out


def retry_after(seconds: float) -> bytes:
    """Whole seconds, at least 1 (HTTP's Retry-After takes no fractions)."""
    return str(max(1, math.ceil(seconds))).encode()
