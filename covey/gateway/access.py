"""The gateway's access rules as pure functions (docs/design.md §3, §5): who is charged, which models and
features a key may use, and why a key is refused. The snapshot compiles them per key; requests call
`refusal_at` and set lookups only."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from covey.groups import tree
from covey.ratelimits.rules import Limit

INVALID_TOKEN = "Invalid authorization token"
MODEL_BLOCKED = "Model blocked by policy"
FEATURES = ("streaming", "tools", "structured_outputs", "reasoning", "embeddings", "auto_caching")
_WRITE_LEVELS = ("read", "write")


@dataclass(frozen=True, slots=True)
class Grant:
    """What one key may do, compiled from the database; `refusal` is set when it may do nothing."""

    key_id: str
    org_id: str
    owner_id: str
    group_id: str | None
    charged_groups: tuple[str, ...]
    allowed_models: frozenset[str]
    disabled_features: frozenset[str]
    logging: bool
    refusal: str | None = None
    # A revoked key is no key at all: refused as an unknown one (401), not as a rule (403).
    revoked: bool = False
    # Epoch seconds; the key stops at the first of these.
    key_expires_at: float | None = None
    group_expires_at: float | None = None
    # Every rate limit on the request's owners, in check order (covey.ratelimits.rules).
    rate_limits: tuple[Limit, ...] = ()
    # `auto_caching` switched on somewhere on the chain (and off nowhere).
    auto_cache: bool = False
    # Guardrail mode per category ({"pii": "mask"}), the strongest along org, group chain and key.
    guardrails: Mapping[str, str] = field(default_factory=dict)

    def refusal_at(self, now: float) -> tuple[int, str] | None:
        """(status, message) when the key may do nothing now: 401 when the key is not (or no longer) a
        valid credential, 403 when a rule stops a valid one (docs/design.md §7)."""
        if self.revoked or (self.key_expires_at is not None and now >= self.key_expires_at):
            return 401, INVALID_TOKEN
        if self.refusal is not None:
            return 403, self.refusal
        if self.group_expires_at is not None and now >= self.group_expires_at:
            return 403, "The API key's group has expired"
        return None


def charged_groups(parent_of: Mapping[str, str | None], group_id: str | None) -> tuple[str, ...]:
    """The key's group and every ancestor, nearest first, each once; none for a personal key."""
    if group_id is None or group_id not in parent_of:
        return ()
    return tuple(tree.chain(parent_of, group_id))


def matches(pattern: str, model_id: str) -> bool:
    return fnmatch.fnmatchcase(model_id, pattern) if "*" in pattern else pattern == model_id


def allowed_models(catalog: Iterable[str], lists: Iterable[Iterable[str] | None]) -> frozenset[str]:
    """Catalog ∩ every list given; `None` (an unset list) and an empty org approval list restrict nothing."""
    allowed = set(catalog)
    for patterns in lists:
        if patterns is None:
            continue
        allowed = {m for m in allowed if any(matches(p, m) for p in patterns)}
    return frozenset(allowed)


def switched_on(switches: Iterable[Mapping[str, object]], feature: str) -> bool:
    """A feature that acts (`auto_caching`) is on when a switch on the chain turned it on and none off."""
    values = [mapping.get(feature) for mapping in switches]
    return True in values and False not in values


def disabled_features(switches: Iterable[Mapping[str, object]]) -> frozenset[str]:
    """A feature any switch on the chain turned off stays off: a child can only narrow its parent."""
    return frozenset(name for mapping in switches for name, on in mapping.items() if on is False)


def key_refusal(
    *,
    revoked: bool,
    owner_active: bool,
    completions: str,
    group_id: str | None,
    parent_of: Mapping[str, str | None],
    owner_direct_groups: Iterable[str],
) -> str | None:
    """Why a key may make no request at all, whatever the time (expiry is checked per request)."""
    if revoked or not owner_active:
        return INVALID_TOKEN
    if completions not in _WRITE_LEVELS:
        return "The API key lacks the completions permission"
    if group_id is not None:
        if group_id not in parent_of:
            return "The API key's group no longer exists"
        if group_id not in tree.effective_groups(parent_of, owner_direct_groups):
            return "The API key's owner is no longer a member of its group"
    return None


def earliest(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None
