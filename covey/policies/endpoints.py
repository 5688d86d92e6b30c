from __future__ import annotations

from fastapi import APIRouter

from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.kit.responses import ERRORS
from covey.policies import service
from covey.policies.schemas import (
    PolicyCreate,
    PolicyCreated,
    PolicyDeleted,
    PolicyEnvelope,
    PolicyOut,
    PolicyPage,
    PolicyUpdate,
)

router = APIRouter(prefix="/policy", tags=["routing policies"], responses=ERRORS)


@router.get("", response_model=PolicyPage, summary="List the organization's routing policies")
def list_policies(session: SessionDep, caller: ManageRead) -> PolicyPage:
    return PolicyPage(policies=[PolicyOut.of(p) for p in service.list_all(session, caller)])


@router.post("", response_model=PolicyCreated, summary="Create a fallback or load-balancing policy (org admins)")
def create_policy(body: PolicyCreate, session: SessionDep, caller: ManageWrite) -> PolicyCreated:
    policy = service.create(session, caller, body)
    return PolicyCreated(id=policy.id, policy=PolicyOut.of(policy))


@router.get("/{policy_id}", response_model=PolicyEnvelope, summary="Get a routing policy")
def get_policy(policy_id: str, session: SessionDep, caller: ManageRead) -> PolicyEnvelope:
    return PolicyEnvelope(policy=PolicyOut.of(service.get(session, caller, policy_id)))


@router.patch("/{policy_id}", response_model=PolicyEnvelope, summary="Change a routing policy (org admins)")
def update_policy(policy_id: str, body: PolicyUpdate, session: SessionDep, caller: ManageWrite) -> PolicyEnvelope:
    return PolicyEnvelope(policy=PolicyOut.of(service.update(session, caller, policy_id, body)))


@router.delete("/{policy_id}", response_model=PolicyDeleted, summary="Delete a routing policy (org admins)")
def delete_policy(policy_id: str, session: SessionDep, caller: ManageWrite) -> PolicyDeleted:
    service.delete(session, caller, policy_id)
    return PolicyDeleted(id=policy_id)
