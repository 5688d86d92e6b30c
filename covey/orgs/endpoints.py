from __future__ import annotations

from fastapi import APIRouter

from covey.auth.deps import ManageRead, SessionDep
from covey.kit.errors import NotFound
from covey.kit.responses import ERRORS
from covey.orgs import repository
from covey.orgs.schemas import OrgOut

router = APIRouter(prefix="/org", tags=["organization"], responses=ERRORS)


@router.get("", response_model=OrgOut, summary="The caller's organization")
def get_org(session: SessionDep, caller: ManageRead) -> OrgOut:
    org = repository.get(session, caller.org_id)
    if org is None:
        raise NotFound("organization not found")
    return OrgOut.of(org)
