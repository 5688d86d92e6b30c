"""Which models a request is tried on, in order: one model, a fallback chain, or a weighted pick
that sticks to a trace id (Requesty §3.5). Pure functions over the snapshot's policies."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass

from covey.gateway.access import MODEL_BLOCKED
from covey.kit.errors import Forbidden, NotFound
from covey.plane.compiler import Policy

POLICY_PREFIX = "policy/"
MAX_NESTING = 5
UNKNOWN_MODEL = "Provider and/or model not supported"


@dataclass(frozen=True, slots=True)
class Step:
    model: str
    retries: int = 0


def pick_weighted(weights: list[float], sticky: str) -> int:
    """The same `sticky` value always lands on the same index; over many values, in proportion to weights."""
    digest = hashlib.blake2b(sticky.encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64 * sum(weights)
    total = 0.0
    for index, weight in enumerate(weights):
        total += weight
        if point < total:
            return index
    return len(weights) - 1


def _expand(
    name: str,
    policies: Mapping[str, Policy],
    allowed: frozenset[str],
    sticky: str,
    depth: int,
) -> list[Step]:
    policy = policies.get(name)
    if policy is None or depth > MAX_NESTING:
        return []
    if policy.type == "load_balancing":
        options = [(t, _target_steps(t.model, t.retries, policies, allowed, sticky, depth)) for t in policy.targets]
        usable = [(t, steps) for t, steps in options if steps and t.weight > 0]
        if not usable:
            return []
        return usable[pick_weighted([t.weight for t, _ in usable], sticky)][1]
    steps: list[Step] = []
    for target in policy.targets:
        steps += _target_steps(target.model, target.retries, policies, allowed, sticky, depth)
    return steps


def _target_steps(
    model: str, retries: int, policies: Mapping[str, Policy], allowed: frozenset[str], sticky: str, depth: int
) -> list[Step]:
    if model.startswith(POLICY_PREFIX):
        return _expand(model[len(POLICY_PREFIX) :], policies, allowed, sticky, depth + 1)
    return [Step(model, retries)] if model in allowed else []


def plan(
    model: str,
    *,
    catalog: Mapping[str, object],
    allowed: frozenset[str],
    policies: Mapping[str, Policy],
    trace_id: str | None,
) -> list[Step]:
    """The steps to try; raises NotFound for an unknown model or policy, Forbidden when none is allowed."""
    if model.startswith(POLICY_PREFIX):
        name = model[len(POLICY_PREFIX) :]
        if name not in policies:
            raise NotFound(f"Routing policy {name!r} not found")
        sticky = trace_id or random.getrandbits(64).to_bytes(8, "big").hex()
        steps = _expand(name, policies, allowed, sticky, 0)
        if not steps:
            raise Forbidden(MODEL_BLOCKED)
        return steps
    if model not in catalog:
        raise NotFound(UNKNOWN_MODEL)
    if model not in allowed:
        raise Forbidden(MODEL_BLOCKED)
    return [Step(model)]


def usable_policies(policies: Mapping[str, Policy], allowed: frozenset[str]) -> list[Policy]:
    """The policies a key may call: at least one of their targets is allowed to it."""
    return [p for p in policies.values() if _expand(p.name, policies, allowed, "", 0)]
