"""The access rules as pure functions (docs/design.md §3, §5), without a server."""

from __future__ import annotations

from covey.gateway import access

PARENTS: dict[str, str | None] = {"eng": None, "backend": "eng", "platform": "backend", "sales": None}
CATALOG = ["a/one", "a/two", "b/one", "b/embed"]


def test_charged_groups_are_the_group_and_every_ancestor_once() -> None:
    assert access.charged_groups(PARENTS, "platform") == ("platform", "backend", "eng")
    assert access.charged_groups(PARENTS, "eng") == ("eng",)
    assert access.charged_groups(PARENTS, None) == ()
    assert access.charged_groups(PARENTS, "deleted") == ()


def test_allowed_models_intersect_every_list_and_unset_lists_restrict_nothing() -> None:
    assert access.allowed_models(CATALOG, [None, None]) == frozenset(CATALOG)
    assert access.allowed_models(CATALOG, [["a/*", "b/one"], None, ["a/one", "b/one", "b/embed"]]) == {
        "a/one",
        "b/one",
    }
    # A child list cannot widen its parent's.
    assert access.allowed_models(CATALOG, [["a/one"], ["a/one", "a/two"]]) == {"a/one"}
    assert access.allowed_models(CATALOG, [[]]) == frozenset()


def test_disabled_features_union_down_the_chain() -> None:
    switches = [{"streaming": False, "tools": True}, {"tools": False}, {"streaming": True}]
    assert access.disabled_features(switches) == {"streaming", "tools"}
    assert access.disabled_features([{}]) == frozenset()


def test_key_refusals() -> None:
    ok = {
        "revoked": False,
        "owner_active": True,
        "completions": "write",
        "group_id": "backend",
        "parent_of": PARENTS,
        "owner_direct_groups": ["platform"],  # a member of a subgroup is an effective member of backend
    }
    assert access.key_refusal(**ok) is None  # type: ignore[arg-type]
    assert access.key_refusal(**{**ok, "revoked": True}) == access.INVALID_TOKEN  # type: ignore[arg-type]
    assert access.key_refusal(**{**ok, "owner_active": False}) == access.INVALID_TOKEN  # type: ignore[arg-type]
    assert "completions" in access.key_refusal(**{**ok, "completions": "none"})  # type: ignore[arg-type, operator]
    assert "no longer exists" in access.key_refusal(**{**ok, "group_id": "gone"})  # type: ignore[arg-type, operator]
    assert "member" in access.key_refusal(**{**ok, "owner_direct_groups": ["sales"]})  # type: ignore[arg-type, operator]
    assert access.key_refusal(**{**ok, "group_id": None, "owner_direct_groups": []}) is None  # type: ignore[arg-type]


def test_expiry_is_checked_at_request_time() -> None:
    grant = access.Grant(
        key_id="k",
        org_id="o",
        owner_id="u",
        group_id=None,
        charged_groups=(),
        allowed_models=frozenset(),
        disabled_features=frozenset(),
        logging=False,
        key_expires_at=100.0,
        group_expires_at=50.0,
    )
    assert grant.refusal_at(10.0) is None
    assert grant.refusal_at(60.0) == (403, "The API key's group has expired")
    # An expired key is no longer a credential: that wins over the rule.
    assert grant.refusal_at(100.0) == (401, access.INVALID_TOKEN)
