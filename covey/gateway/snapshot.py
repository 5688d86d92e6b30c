"""The in-memory snapshot the hot path reads: keys compiled into grants, and each org's routing
policies. Rebuilt off the hot path whenever the control plane's revision counter moves."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from covey.audit.repository import current_revision
from covey.gateway import access
from covey.gateway.repository import ControlPlane, load_control_plane
from covey.guardrails.schemas import strongest
from covey.kit.db import Database
from covey.models import ApiKey, Group, Organization, User
from covey.ratelimits import rules as ratelimits

log = logging.getLogger("covey.gateway")


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


@dataclass(frozen=True)
class Snapshot:
    revision: int
    grants: dict[str, access.Grant] = field(default_factory=dict)  # key hash → grant
    policies: dict[str, dict[str, Policy]] = field(default_factory=dict)  # org id → name → policy


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def compile_snapshot(plane: ControlPlane, *, catalog: Iterable[str], revision: int) -> Snapshot:
    catalog = frozenset(catalog)
    orgs = {o.id: o for o in plane.orgs}
    users = {u.id: u for u in plane.users}
    groups = {g.id: g for g in plane.groups}
    lists = {a.id: a.models() for a in plane.access_lists}
    parent_of_by_org: dict[str, dict[str, str | None]] = defaultdict(dict)
    for g in plane.groups:
        parent_of_by_org[g.org_id][g.id] = g.parent_id
    direct: dict[str, list[str]] = defaultdict(list)
    for user_id, group_id in plane.memberships:
        direct[user_id].append(group_id)

    grants: dict[str, access.Grant] = {}
    for key in plane.keys:
        owner = users.get(key.owner_id)
        org = orgs.get(key.org_id)
        if owner is None or org is None:
            continue
        parent_of = parent_of_by_org[key.org_id]
        chain = access.charged_groups(parent_of, key.group_id)
        chain_groups = [groups[g] for g in chain]
        default_list = org.default_group_access_list_id
        model_lists: list[Iterable[str] | None] = [org.approved_models or None]
        for g in chain_groups:
            list_id = g.access_list_id or default_list
            model_lists.append(lists.get(list_id) if list_id else None)
        model_lists.append(lists.get(key.access_list_id) if key.access_list_id else None)
        switches = [*(g.features or {} for g in chain_groups), key.features or {}]
        grants[key.key_hash] = access.Grant(
            key_id=key.id,
            org_id=key.org_id,
            owner_id=key.owner_id,
            group_id=key.group_id,
            charged_groups=chain,
            allowed_models=access.allowed_models(catalog, model_lists),
            disabled_features=access.disabled_features(switches),
            logging=bool(key.logging),
            refusal=access.key_refusal(
                revoked=key.revoked_at is not None,
                owner_active=owner.active,
                completions=key.completions,
                group_id=key.group_id,
                parent_of=parent_of,
                owner_direct_groups=direct[owner.id],
            ),
            revoked=key.revoked_at is not None,
            key_expires_at=_epoch(key.expires_at),
            group_expires_at=access.earliest(_epoch(g.expires_at) for g in chain_groups),
            rate_limits=_rate_limits(key, owner, org, chain_groups, plane.member_rate_limits),
            auto_cache=access.switched_on(
                [*(g.features or {} for g in chain_groups), key.features or {}], "auto_caching"
            ),
            guardrails=strongest([org.guardrails, *(g.guardrails for g in chain_groups), key.guardrails]),
        )

    policies: dict[str, dict[str, Policy]] = defaultdict(dict)
    for p in plane.policies:
        targets = tuple(
            Target(model=str(t["model"]), retries=int(t.get("retries", 0)), weight=float(t.get("weight", 1)))
            for t in p.targets
        )
        policies[p.org_id][p.name] = Policy(name=p.name, type=p.type, targets=targets, description=p.description)
    return Snapshot(revision=revision, grants=grants, policies=dict(policies))


def _rate_limits(
    key: ApiKey,
    owner: User,
    org: Organization,
    chain: list[Group],
    member_rate_limits: Mapping[tuple[str, str], int],
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
                ratelimits.member_limits(g.rate_limits_per_member, member_rate_limits.get((owner.id, g.id))),
            )
            for g in chain
        ),
        *(ratelimits.Owner("group", g.id, g.name, g.rate_limits) for g in chain),
        ratelimits.Owner("org", org.id, org.name, org.rate_limits),
    ]
    return ratelimits.compile_limits(owners)


class Follower(Protocol):
    """State compiled from the same control plane that must never lag the snapshot (the budget book)."""

    def load(self) -> Any: ...

    def install(self, loaded: Any) -> None: ...


class SnapshotStore:
    """Holds the current snapshot; `watch` polls the revision counter and swaps in a new one."""

    def __init__(self, db: Database, *, catalog: Iterable[str], follower: Follower | None = None) -> None:
        self.db = db
        self.catalog = frozenset(catalog)
        self.current = Snapshot(revision=-1)
        self.follower = follower

    def load(self) -> Snapshot:
        with self.db.sessions() as session:
            revision = current_revision(session)
            plane = load_control_plane(session)
        return compile_snapshot(plane, catalog=self.catalog, revision=revision)

    def _revision(self) -> int:
        with self.db.sessions() as session:
            return current_revision(session)

    def _load_all(self) -> tuple[Snapshot, Any]:
        snapshot = self.load()
        # Loaded after the snapshot, so it holds everything the snapshot holds: a key the snapshot
        # knows always meets the budget lines made before it.
        return snapshot, self.follower.load() if self.follower is not None else None

    def _install(self, loaded: tuple[Snapshot, Any]) -> None:
        snapshot, followed = loaded
        if self.follower is not None:
            self.follower.install(followed)
        self.current = snapshot

    def refresh(self) -> None:
        self._install(self._load_all())

    async def watch(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Until `stop` is set; never cancelled in the middle of a query, so no connection is left behind."""
        while not await _wait(stop, poll_seconds):
            try:
                revision = await asyncio.to_thread(self._revision)
                if revision != self.current.revision:
                    self._install(await asyncio.to_thread(self._load_all))
            except SQLAlchemyError as exc:  # the database went away for a moment: keep serving the last one
                log.warning("snapshot refresh failed: %s", exc)


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Sleeps `seconds` or until the event is set; returns whether it is set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
