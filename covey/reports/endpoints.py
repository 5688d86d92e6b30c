"""Routes: Requesty's usage endpoints (full paths, beside the keys and org routers), Covey's reports
under `/report`, and `/recommendations`. Mounted under `/v1/manage`."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from covey.auth.caller import Caller
from covey.auth.deps import AnyCaller, ManageRead, SessionDep
from covey.keys import service as keys_service
from covey.kit.responses import ERRORS
from covey.reports import export, periods, recommendations, repository, service, usage_api
from covey.reports.schemas import (
    AllocationReport,
    GroupReport,
    GroupSpendReport,
    Recommendations,
    TreeReport,
    UsageReport,
    UserReport,
)
from covey.reports.usage_api import UsageQuery

usage_router = APIRouter(tags=["usage"], responses=ERRORS)
router = APIRouter(prefix="/report", tags=["reports"], responses=ERRORS)
recommendations_router = APIRouter(tags=["reports"], responses=ERRORS)

Format = Annotated[str | None, Query(pattern="^(json|csv)$", description="csv, or send Accept: text/csv")]
_USAGE_DOC = (
    "`start` (RFC 3339, required), `end` (default start + 24h, at most 100 days later), "
    "`resolution` hour|day|month (default day), repeatable `group_by`."
)
_USAGE_ANSWER: dict[str, Any] = {"response_model": None, "responses": {200: {"model": UsageReport}}}


def _usage_query(
    request: Request,
    start: str | None = None,
    end: str | None = None,
    resolution: str | None = None,
    group_by: Annotated[list[str] | None, Query(description="repeatable; also `group_by[]`")] = None,
) -> UsageQuery:
    return usage_api.parse_query(
        start=start,
        end=end,
        resolution=resolution,
        group_by=[*(group_by or []), *request.query_params.getlist("group_by[]")],
    )


UsageParams = Annotated[UsageQuery, Depends(_usage_query)]


def _usage(session: SessionDep, caller: Caller, key_id: str | None, query: UsageQuery) -> Response:
    names = {g.id: g.name for g in repository.groups(session, org_id=caller.org_id)}
    answer = usage_api.usage(session, org_id=caller.org_id, key_id=key_id, query=query, group_names=names)
    # Serialized once, as built: an answer grouped by group and model can hold tens of thousands of entries.
    return Response(orjson.dumps(answer), media_type="application/json")


@usage_router.get(
    "/apikey/self/usage", summary="Usage of the key making this request", description=_USAGE_DOC, **_USAGE_ANSWER
)
def self_usage(session: SessionDep, caller: AnyCaller, query: UsageParams) -> Response:
    return _usage(session, caller, caller.key_id or "", query)


@usage_router.get("/apikey/{key_id}/usage", summary="Usage of an API key", description=_USAGE_DOC, **_USAGE_ANSWER)
def key_usage(key_id: str, session: SessionDep, caller: ManageRead, query: UsageParams) -> Response:
    key = keys_service.get_visible(session, caller, key_id)
    return _usage(session, caller, key.id, query)


@usage_router.get(
    "/org/usage", summary="Usage of the whole organization (org admins)", description=_USAGE_DOC, **_USAGE_ANSWER
)
def org_usage(session: SessionDep, caller: ManageRead, query: UsageParams) -> Response:
    caller.require_org_admin("The organization's usage")
    return _usage(session, caller, None, query)


def _answer(request: Request, fmt: str | None, report: Any, table: export.Table, name: str) -> Any:
    return export.csv_response(table, name) if export.wants_csv(request, fmt) else report


def _month(value: str | None) -> Any:
    """The month asked for; None is the org's current month, which the report works out."""
    return periods.parse_month(value)


@router.get("/group-spend", response_model=GroupSpendReport, summary="Group spend by month, with budget and trend")
def group_spend(
    request: Request,
    session: SessionDep,
    caller: ManageRead,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
    group_id: str | None = None,
    format: Format = None,
) -> Response | GroupSpendReport:
    report = service.group_spend(session, caller, months=months, group_id=group_id)
    return _answer(request, format, report, export.group_spend_table(report), "group-spend")  # type: ignore[no-any-return]


@router.get("/group-tree", response_model=TreeReport, summary="The group tree with each node's spend for a month")
def group_tree(
    request: Request, session: SessionDep, caller: ManageRead, month: str | None = None, format: Format = None
) -> Response | TreeReport:
    report = service.group_tree(session, caller, month=_month(month))
    return _answer(request, format, report, export.tree_table(report), "group-tree")  # type: ignore[no-any-return]


@router.get("/group/{group_id}", response_model=GroupReport, summary="A group's models, features and cost efficiency")
def group_report(
    group_id: str,
    request: Request,
    session: SessionDep,
    caller: ManageRead,
    month: str | None = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
    format: Format = None,
) -> Response | GroupReport:
    report = service.group_report(session, caller, group_id, month=_month(month), top=top)
    return _answer(request, format, report, export.group_report_table(report), "group")  # type: ignore[no-any-return]


@router.get("/user/{user_id}", response_model=UserReport, summary="A user's spend across their groups and models")
def user_report(
    user_id: str,
    request: Request,
    session: SessionDep,
    caller: ManageRead,
    month: str | None = None,
    format: Format = None,
) -> Response | UserReport:
    report = service.user_report(session, caller, user_id, month=_month(month))
    return _answer(request, format, report, export.user_report_table(report), "user")  # type: ignore[no-any-return]


@router.get("/allocation", response_model=AllocationReport, summary="Cost allocation for a month (chargeback)")
def allocation(
    request: Request, session: SessionDep, caller: ManageRead, month: str | None = None, format: Format = None
) -> Response | AllocationReport:
    report = service.allocation(session, caller, month=_month(month))
    return _answer(request, format, report, export.allocation_table(report), "allocation")  # type: ignore[no-any-return]


@recommendations_router.get(
    "/recommendations", response_model=Recommendations, summary="Usage-based recommendations, with their figures"
)
def list_recommendations(
    request: Request, session: SessionDep, caller: ManageRead, format: Format = None
) -> Response | Recommendations:
    report = recommendations.recommend(session, caller)
    return _answer(request, format, report, export.recommendations_table(report), "recommendations")  # type: ignore[no-any-return]
