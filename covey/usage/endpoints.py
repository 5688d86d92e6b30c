"""`GET /v1/manage/request`: the request log, and one request with its content."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from covey.auth.deps import ManageRead, SessionDep
from covey.kit.pagination import Page, page_params
from covey.kit.responses import ERRORS
from covey.usage import service
from covey.usage.schemas import RequestEnvelope, RequestPage

router = APIRouter(prefix="/request", tags=["requests"], responses=ERRORS)


@router.get(
    "",
    response_model=RequestPage,
    summary="Recent requests, newest first: org admins all, group admins their groups' subtrees, anyone their own",
)
def list_requests(
    session: SessionDep,
    caller: ManageRead,
    page: Annotated[Page, Depends(page_params)],
    user_id: str | None = None,
    api_key_id: str | None = None,
    group_id: Annotated[str | None, Query(description="Requests charged to the group: its whole subtree")] = None,
    model: Annotated[str | None, Query(description="The model asked for or the one that answered")] = None,
    status: Annotated[str | None, Query(description="An HTTP status (429) or a class (4xx)")] = None,
    start: Annotated[datetime | None, Query(description="RFC 3339, inclusive; without a zone, UTC")] = None,
    end: Annotated[datetime | None, Query(description="RFC 3339, exclusive; without a zone, UTC")] = None,
) -> RequestPage:
    filters = service.RequestFilter(
        user_id=user_id, api_key_id=api_key_id, group_id=group_id, model=model, status=status, start=start, end=end
    )
    rows, total = service.search(session, caller, filters, page)
    return RequestPage(requests=rows, total=total, limit=page.limit, offset=page.offset)


@router.get("/{request_id}", response_model=RequestEnvelope, summary="One request, with its content if its key logs")
def get_request(request_id: str, session: SessionDep, caller: ManageRead) -> RequestEnvelope:
    return RequestEnvelope(request=service.get(session, caller, request_id))
