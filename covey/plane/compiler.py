"""What the control plane compiles, as pure functions over plain rows: a key's grant, the chain of
groups it is charged to, each org's routing policies. The plane calls them for the keys a change
touched, and for every key at start-up.

A grant is the key's own facts (owner, revoked, expiry, completions) joined with its chain's (what
its group, the group's ancestors, the org and the key's access list allow). Chains are shared by
every key with the same group and list, and cached per org, so recompiling a key is a few lookups.
Settings that hang on the group chain belong in `Chain`; settings of the key itself in `compile_grant`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from covey.gateway import access
from covey.guardrails.schemas import strongest
from covey.ratelimits import rules as ratelimits


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    org_id: str
    key_hash: str
    owner_id: str
    group_id: str | None
    completions: str
    revoked: bool
    expires_at: float | None  # epoch seconds
    access_list_id: str | None
    disabled: frozenset[str]  # features this key turned off
    logging: bool
    name: str = ""
    rate_limits: Mapping[str, object] | None = None
    guardrails: Mapping[str, object] | None = None
    enabled: frozenset[str] = frozenset()  # features this key turned on (`auto_caching`)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    org_id: str
    active: bool
    email: str = ""
    rate_limits: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: str
    org_id: str
    parent_id: str | None
    access_list_id: str | None
    disabled: frozenset[str]
    expires_at: float | None
    name: str = ""
    rate_limits: Mapping[str, object] | None = None
    rate_limits_per_member: Mapping[str, object] | None = None
    guardrails: Mapping[str, object] | None = None
    enabled: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class OrgRow:
    id: str
    approved_models: tuple[str, ...]  # empty: every model
    default_list_id: str | None  # the access list of groups that have none
    timezone: str
    name: str = ""
    rate_limits: Mapping[str, object] | None = None
    guardrails: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    org_id: str
    models: frozenset[str]


@dataclass(frozen=True, slots=True)
class Target:
    model: str
    retries: int = 0
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    type: str  # "fallback" | "load_balancing"
    targets: tuple[Target, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class PolicyRow:
    org_id: str
    policy: Policy


@dataclass(frozen=True, slots=True)
class Chain:
    """What a group chain (with a key's own access list) grants, whoever holds the key."""

    charged_groups: tuple[str, ...]
    allowed_models: frozenset[str]
    disabled_features: frozenset[str]
    group_expires_at: float | None
    groups: tuple[GroupRow, ...]  # the chain's rows, nearest first: per-member settings are read per owner
    group_limits: tuple[ratelimits.Owner, ...]
    guardrails: Mapping[str, str]  # the strongest mode per category along the org and the groups
    enabled_features: frozenset[str] = frozenset()  # turned on somewhere on the chain


@dataclass(frozen=True)
class OrgView:
    """One org's groups and lists, as the chain compiler reads them."""

    org: OrgRow
    parent_of: Mapping[str, str | None]
    groups: Mapping[str, GroupRow]
    lists: Mapping[str, ListRow]


def compile_chain(view: OrgView, *, catalog: frozenset[str], group_id: str | None, key_list_id: str | None) -> Chain:
    chain = access.charged_groups(view.parent_of, group_id)
    groups = [view.groups[g] for g in chain]
    model_lists: list[Iterable[str] | None] = [view.org.approved_models or None]
    for g in groups:
        list_id = g.access_list_id or view.org.default_list_id
        model_lists.append(_models(view, list_id))
    model_lists.append(_models(view, key_list_id))
    return Chain(
        charged_groups=chain,
        allowed_models=access.allowed_models(catalog, model_lists),
        disabled_features=frozenset().union(*(g.disabled for g in groups)),
        group_expires_at=access.earliest(g.expires_at for g in groups),
        groups=tuple(groups),
        group_limits=tuple(ratelimits.Owner("group", g.id, g.name, g.rate_limits) for g in groups),
        guardrails=strongest([view.org.guardrails, *(g.guardrails for g in groups)]),
        enabled_features=frozenset().union(*(g.enabled for g in groups)),
    )


def _models(view: OrgView, list_id: str | None) -> frozenset[str] | None:
    if list_id is None:
        return None
    found = view.lists.get(list_id)
    return found.models if found is not None else None


def compile_grant(
    key: KeyRow,
    *,
    owner: UserRow,
    owner_groups: Iterable[str],
    member_limits: Mapping[tuple[str, str], int],
    org: OrgRow,
    chain: Chain,
    parent_of: Mapping[str, str | None],
) -> access.Grant:
    return access.Grant(
        key_id=key.id,
        org_id=key.org_id,
        owner_id=key.owner_id,
        group_id=key.group_id,
        charged_groups=chain.charged_groups,
        allowed_models=chain.allowed_models,
        disabled_features=chain.disabled_features | key.disabled if key.disabled else chain.disabled_features,
        logging=key.logging,
        refusal=access.key_refusal(
            revoked=key.revoked,
            owner_active=owner.active,
            completions=key.completions,
            group_id=key.group_id,
            parent_of=parent_of,
            owner_direct_groups=owner_groups,
        ),
        revoked=key.revoked,
        key_expires_at=key.expires_at,
        group_expires_at=chain.group_expires_at,
        rate_limits=rate_limits(key, owner=owner, member_limits=member_limits, org=org, chain=chain),
        guardrails=strongest([chain.guardrails, key.guardrails]) if key.guardrails else chain.guardrails,
        # A feature that acts is on when a switch on the chain turned it on and none turned it off.
        auto_cache="auto_caching" in (chain.enabled_features | key.enabled)
        and "auto_caching" not in (chain.disabled_features | key.disabled),
    )


def rate_limits(
    key: KeyRow, *, owner: UserRow, member_limits: Mapping[tuple[str, str], int], org: OrgRow, chain: Chain
) -> tuple[ratelimits.Limit, ...]:
    """In the order budget lines are checked: key, owner, owner per charged group, each group, org."""
    owners = [
        ratelimits.Owner("key", key.id, key.name, key.rate_limits),
        ratelimits.Owner("user", owner.id, owner.email, owner.rate_limits),
        *(
            ratelimits.Owner(
                "member",
                f"{g.id}:{owner.id}",
                g.name,
                ratelimits.member_limits(g.rate_limits_per_member, member_limits.get((owner.id, g.id))),
            )
            for g in chain.groups
        ),
        *chain.group_limits,
        ratelimits.Owner("org", org.id, org.name, org.rate_limits),
    ]
    return ratelimits.compile_limits(owners)


def enabled(features: Mapping[str, object] | None) -> frozenset[str]:
    """The features a switch map turns on."""
    return frozenset(name for name, on in (features or {}).items() if on is True)


def disabled(features: Mapping[str, object] | None) -> frozenset[str]:
    """The features a switch map turns off (a child can only narrow its parent)."""
    return access.disabled_features([features or {}])


def policy_of(*, name: str, type_: str, targets: Iterable[Mapping[str, Any]], description: str) -> Policy:
    return Policy(
        name=name,
        type=type_,
        targets=tuple(
            Target(model=str(t["model"]), retries=int(t.get("retries", 0)), weight=float(t.get("weight", 1)))
            for t in targets
        ),
        description=description,
    )


def subtree(children: Mapping[str, set[str]], group_id: str) -> set[str]:
    """The group and everything under it, from a children map."""
    out = {group_id}
    stack = [group_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out
