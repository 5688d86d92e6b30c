from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from covey.audit import repository
from covey.audit.schemas import AuditEventOut, AuditPage
from covey.auth.deps import ManageRead, SessionDep
from covey.kit.clock import as_utc
from covey.kit.pagination import Page, page_params
from covey.kit.responses import ERRORS

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERRORS)


@router.get("", response_model=AuditPage, summary="Search the audit log")
def list_audit(
    session: SessionDep,
    caller: ManageRead,
    page: Annotated[Page, Depends(page_params)],
    actor_id: str | None = None,
    target_id: str | None = None,
    target_type: str | None = None,
    action: Annotated[str | None, Query(description="`group.create`, or a prefix ending in `.`")] = None,
    since: Annotated[datetime | None, Query(description="RFC 3339; without a zone, UTC")] = None,
    until: Annotated[datetime | None, Query(description="RFC 3339; without a zone, UTC")] = None,
) -> AuditPage:
    caller.require_org_admin("Reading the audit log")
    rows, total = repository.list_events(
        session,
        org_id=caller.org_id,
        actor_id=actor_id,
        target_id=target_id,
        target_type=target_type,
        action=action,
        since=as_utc(since),
        until=as_utc(until),
        limit=page.limit,
        offset=page.offset,
    )
    return AuditPage(
        events=[AuditEventOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
