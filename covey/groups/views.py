"""How groups and memberships are shown: API views, and what the audit log keeps of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from covey.groups import tree as tree_rules
from covey.groups.schemas import GroupDetail, GroupOut, MemberOut, TreeNode
from covey.guardrails.schemas import strongest
from covey.kit.clock import isoformat
from covey.kit.money import nanos_to_number, nanos_to_text
from covey.models import Group, Membership, User
from covey.ratelimits.schemas import RateLimitsOut


def _number(nanos: int | None) -> float | None:
    return None if nanos is None else nanos_to_number(nanos)


def group_out(group: Group, *, members_count: int, now: datetime) -> GroupOut:
    return GroupOut(
        id=group.id,
        organization_id=group.org_id,
        name=group.name,
        members_count=members_count,
        # Metering fills spend in; until a group has a usage ledger its spend is zero.
        monthly_spend=0,
        monthly_limit=_number(group.monthly_budget_per_user),
        monthly_budget=_number(group.monthly_budget),
        monthly_budget_per_user=_number(group.monthly_budget_per_user),
        created_by=group.created_by,
        created_at=group.created_at,
        parent_id=group.parent_id,
        kind=group.kind,
        description=group.description,
        default=group.is_default,
        expires_at=group.expires_at,
        expired=group.is_expired(now),
        access_list_id=group.access_list_id,
        features=dict(group.features or {}),
        external_id=group.external_id,
        rate_limits=RateLimitsOut.of(group.rate_limits),
        rate_limits_per_member=RateLimitsOut.of(group.rate_limits_per_member),
        guardrails=strongest([group.guardrails]),
    )


def member_out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        monthly_limit=_number(user.monthly_limit),
        monthly_spend=0,
        rate_limit=membership.rate_limit,
        active=user.active,
        group_id=membership.group_id,
        added_at=membership.added_at,
        added_by=membership.added_by,
    )


def group_detail(group: Group, members: Sequence[tuple[Membership, User]], *, now: datetime) -> GroupDetail:
    out = group_out(group, members_count=len(members), now=now)
    return GroupDetail(**out.model_dump(), members=[member_out(m, u) for m, u in members])


def tree_nodes(
    groups: Sequence[Group],
    *,
    visible: set[str],
    memberships: Sequence[tuple[str, str]],
    now: datetime,
) -> list[TreeNode]:
    """Nest the visible groups under their parents. `total_members` counts distinct users in the whole
    subtree, hidden subgroups included, so a count never depends on who asks."""
    by_id = {g.id: g for g in groups}
    parent_of = {g.id: g.parent_id for g in groups}
    kids = tree_rules.children_map(parent_of)
    direct: dict[str, set[str]] = {}
    for gid, uid in memberships:
        direct.setdefault(gid, set()).add(uid)

    below: dict[str, set[str]] = {}

    def subtree_users(gid: str) -> set[str]:
        # Each subtree's users are gathered once, from its children's, so the whole tree costs one pass.
        if gid not in below:
            users = set(direct.get(gid, ()))
            for child in kids.get(gid, ()):
                users |= subtree_users(child)
            below[gid] = users
        return below[gid]

    def node(gid: str) -> TreeNode:
        group = by_id[gid]
        out = group_out(group, members_count=len(direct.get(gid, ())), now=now)
        children = [node(c) for c in sorted(kids.get(gid, ()), key=lambda c: by_id[c].name.lower()) if c in visible]
        return TreeNode(**out.model_dump(), total_members=len(subtree_users(gid)), children=children)

    # A visible group whose parent is hidden is shown as a root, so nobody loses sight of what they may read.
    roots = [g.id for g in groups if g.id in visible and (g.parent_id is None or g.parent_id not in visible)]
    return [node(gid) for gid in sorted(roots, key=lambda r: by_id[r].name.lower())]


def snapshot(group: Group) -> dict[str, Any]:
    """What the audit log keeps of a group; money as exact decimal text."""

    def money(nanos: int | None) -> str | None:
        return None if nanos is None else nanos_to_text(nanos)

    return {
        "id": group.id,
        "name": group.name,
        "parent_id": group.parent_id,
        "kind": group.kind,
        "description": group.description,
        "default": group.is_default,
        "expires_at": isoformat(group.expires_at),
        "access_list_id": group.access_list_id,
        "features": dict(group.features or {}),
        "monthly_budget": money(group.monthly_budget),
        "monthly_budget_per_user": money(group.monthly_budget_per_user),
        "external_id": group.external_id,
        "rate_limits": dict(group.rate_limits or {}),
        "rate_limits_per_member": dict(group.rate_limits_per_member or {}),
        "guardrails": dict(group.guardrails or {}),
    }


def membership_snapshot(membership: Membership) -> dict[str, Any]:
    out: dict[str, Any] = {"group_id": membership.group_id, "user_id": membership.user_id, "role": membership.role}
    if membership.rate_limit is not None:
        out["rate_limit"] = membership.rate_limit
    if membership.managed_by_idp:
        out["managed_by_idp"] = True
    return out


def members_by_group(memberships: Sequence[Membership]) -> Mapping[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for m in memberships:
        out.setdefault(m.group_id, []).append({"user_id": m.user_id, "role": m.role})
    return out
