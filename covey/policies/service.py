"""Routing policies (`policy/<name>`): anyone with manage read sees them, org admins change them.
Every change is audited, which also bumps the revision the gateway's snapshot follows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.kit.errors import BadRequest, Conflict, NotFound
from covey.models import RoutingPolicy
from covey.policies import repository
from covey.policies.schemas import PolicyCreate, PolicyOut, PolicyTarget, PolicyUpdate

PREFIX = "policy/"


def _snapshot(policy: RoutingPolicy) -> dict[str, Any]:
    return PolicyOut.of(policy).model_dump(mode="json")


def referenced_policies(targets: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(t["model"])[len(PREFIX) :] for t in targets if str(t["model"]).startswith(PREFIX)}


def find_cycle(graph: Mapping[str, set[str]], start: str) -> bool:
    """Whether following policy references from `start` comes back to it."""
    seen: set[str] = set()
    stack = list(graph.get(start, ()))
    while stack:
        name = stack.pop()
        if name == start:
            return True
        if name not in seen:
            seen.add(name)
            stack.extend(graph.get(name, ()))
    return False


def _check_targets(
    session: Session, caller: Caller, *, name: str, targets: list[PolicyTarget], own_id: str | None
) -> None:
    others = {p.name: p for p in repository.list_all(session, org_id=caller.org_id) if p.id != own_id}
    dumped = [t.model_dump() for t in targets]
    for ref in sorted(referenced_policies(dumped)):
        if ref != name and ref not in others:
            raise BadRequest(f"targets: no routing policy named {ref!r}")
    graph = {n: referenced_policies(p.targets) for n, p in others.items()}
    graph[name] = referenced_policies(dumped)
    if find_cycle(graph, name):
        raise BadRequest(f"targets: policy {name!r} would route back to itself")


def list_all(session: Session, caller: Caller) -> Sequence[RoutingPolicy]:
    return repository.list_all(session, org_id=caller.org_id)


def get(session: Session, caller: Caller, policy_id: str) -> RoutingPolicy:
    policy = repository.get(session, org_id=caller.org_id, policy_id=policy_id)
    if policy is None:
        raise NotFound("routing policy not found")
    return policy


def create(session: Session, caller: Caller, data: PolicyCreate) -> RoutingPolicy:
    caller.require_org_admin("Changing routing policies")
    if repository.get_by_name(session, org_id=caller.org_id, name=data.name):
        raise Conflict(f"a routing policy named {data.name!r} already exists")
    _check_targets(session, caller, name=data.name, targets=data.targets, own_id=None)
    policy = repository.add(
        session,
        RoutingPolicy(
            org_id=caller.org_id,
            name=data.name,
            type=data.type,
            description=data.description,
            targets=[t.model_dump() for t in data.targets],
            created_by=caller.actor.id,
        ),
    )
    audit.record(session, caller, "policy.create", "policy", policy.id, after=_snapshot(policy))
    return policy


def update(session: Session, caller: Caller, policy_id: str, data: PolicyUpdate) -> RoutingPolicy:
    caller.require_org_admin("Changing routing policies")
    policy = get(session, caller, policy_id)
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    name = fields.get("name", policy.name)
    if name != policy.name:
        if repository.get_by_name(session, org_id=caller.org_id, name=name):
            raise Conflict(f"a routing policy named {name!r} already exists")
        users = [p.name for p in list_all(session, caller) if policy.name in referenced_policies(p.targets)]
        if users:
            raise Conflict(f"routing policy is used by policy/{users[0]}; it cannot be renamed")
    targets = data.targets if data.targets is not None else [PolicyTarget.model_validate(t) for t in policy.targets]
    _check_targets(session, caller, name=name, targets=targets, own_id=policy.id)
    before = _snapshot(policy)
    policy.name = name
    policy.type = fields.get("type", policy.type)
    policy.description = fields.get("description", policy.description)
    policy.targets = [t.model_dump() for t in targets]
    session.flush()
    audit.record(session, caller, "policy.update", "policy", policy.id, before=before, after=_snapshot(policy))
    return policy


def delete(session: Session, caller: Caller, policy_id: str) -> None:
    caller.require_org_admin("Changing routing policies")
    policy = get(session, caller, policy_id)
    users = [p.name for p in list_all(session, caller) if policy.name in referenced_policies(p.targets)]
    if users and users != [policy.name]:
        raise Conflict(f"routing policy is used by policy/{users[0]}")
    before = _snapshot(policy)
    repository.delete(session, policy)
    audit.record(session, caller, "policy.delete", "policy", policy_id, before=before)
