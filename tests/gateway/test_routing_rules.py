"""Route planning as pure functions: single models, fallback chains, weighted sticky picks."""

from __future__ import annotations

from collections import Counter

import pytest

from covey.gateway import routing
from covey.kit.errors import Forbidden, NotFound
from covey.plane.compiler import Policy, Target

CATALOG = {"p/a": 1, "p/b": 1, "p/c": 1}
ALL = frozenset(CATALOG)
POLICIES = {
    "chain": Policy("chain", "fallback", (Target("p/a", 2), Target("p/b", 0), Target("p/c", 1))),
    "split": Policy("split", "load_balancing", (Target("p/a", weight=3), Target("p/b", weight=1))),
    "nested": Policy("nested", "fallback", (Target("policy/split"), Target("p/c"))),
}


def plan(model: str, allowed: frozenset[str] = ALL, trace: str | None = None) -> list[routing.Step]:
    return routing.plan(model, catalog=CATALOG, allowed=allowed, policies=POLICIES, trace_id=trace)


def test_single_model() -> None:
    assert plan("p/a") == [routing.Step("p/a", 0)]
    with pytest.raises(NotFound):
        plan("p/unknown")
    with pytest.raises(Forbidden):
        plan("p/a", allowed=frozenset({"p/b"}))


def test_fallback_chain_keeps_order_and_retries_and_skips_blocked_models() -> None:
    assert plan("policy/chain") == [routing.Step("p/a", 2), routing.Step("p/b", 0), routing.Step("p/c", 1)]
    assert plan("policy/chain", allowed=frozenset({"p/c"})) == [routing.Step("p/c", 1)]
    with pytest.raises(Forbidden):
        plan("policy/chain", allowed=frozenset())
    with pytest.raises(NotFound):
        plan("policy/missing")


def test_load_balancing_is_sticky_and_follows_weights() -> None:
    assert plan("policy/split", trace="t-1") == plan("policy/split", trace="t-1")
    picks = Counter(plan("policy/split", trace=f"trace-{i}")[0].model for i in range(4000))
    assert abs(picks["p/a"] / 4000 - 0.75) < 0.03
    assert plan("policy/split", allowed=frozenset({"p/b"}), trace="x") == [routing.Step("p/b", 0)]


def test_nested_policy_expands() -> None:
    steps = plan("policy/nested", trace="t")
    assert steps[-1] == routing.Step("p/c", 0) and steps[0].model in ("p/a", "p/b")
