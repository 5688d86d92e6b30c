from __future__ import annotations

from fastapi import APIRouter

from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.kit.responses import ERRORS
from covey.orgs import service
from covey.orgs.schemas import OrgGroupAccessList, OrgOut, OrgUpdate

router = APIRouter(prefix="/org", tags=["organization"], responses=ERRORS)


@router.get("", response_model=OrgOut, summary="The caller's organization")
def get_org(session: SessionDep, caller: ManageRead) -> OrgOut:
    return OrgOut.of(service.get(session, caller))


@router.patch("", response_model=OrgOut, summary="Change the organization's settings (org admins)")
def update_org(body: OrgUpdate, session: SessionDep, caller: ManageWrite) -> OrgOut:
    return OrgOut.of(service.update(session, caller, body))


@router.post(
    "/group/access-list",
    response_model=OrgOut,
    summary="Set (or clear, with null) the access list groups get by default (org admins)",
)
def set_group_access_list(body: OrgGroupAccessList, session: SessionDep, caller: ManageWrite) -> OrgOut:
    return OrgOut.of(service.set_group_access_list(session, caller, body))
