"""`/v1/manage/budget…`: every budget line the caller may see (Requesty's monthly fields included),
and CRUD for Covey's own lines (soft, day and week, custom alert thresholds)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.budgets import doctor, service
from covey.budgets.guard import Guard
from covey.budgets.schemas import (
    BudgetCreate,
    BudgetEnvelope,
    BudgetList,
    BudgetUpdate,
    DoctorReport,
    DriftOut,
    InvariantOut,
    OwnerType,
)
from covey.kit.money import nanos_to_text
from covey.kit.responses import ERRORS
from covey.models import BudgetLine
from covey.state import get_budgets

router = APIRouter(prefix="/budget", tags=["budgets"], responses=ERRORS)


def guard_of(request: Request) -> Guard | None:
    """The process's budget guard (with its counters), when the app runs one."""
    return get_budgets(request).guard


@router.get("", response_model=BudgetList, summary="Budget lines the caller may see, with this period's spend")
def list_budgets(
    request: Request,
    session: SessionDep,
    caller: ManageRead,
    owner_type: OwnerType | None = None,
    owner_id: str | None = None,
) -> BudgetList:
    lines = service.list_visible(session, caller, owner_type=owner_type, owner_id=owner_id)
    tz = service.org_timezone(session, caller)
    return BudgetList(budgets=service.present(caller, lines, tz_name=tz, guard=guard_of(request)))


@router.post("", response_model=BudgetEnvelope, summary="Add a budget line")
def create_budget(request: Request, body: BudgetCreate, session: SessionDep, caller: ManageWrite) -> BudgetEnvelope:
    row = service.create(session, caller, body)
    return _envelope(request, session, caller, row)


@router.get("/{line_id}", response_model=BudgetEnvelope, summary="Get a budget line")
def get_budget(request: Request, line_id: str, session: SessionDep, caller: ManageRead) -> BudgetEnvelope:
    return _envelope(request, session, caller, service.get(session, caller, line_id))


@router.patch("/{line_id}", response_model=BudgetEnvelope, summary="Change a line's amount, enforcement or thresholds")
def update_budget(
    request: Request, line_id: str, body: BudgetUpdate, session: SessionDep, caller: ManageWrite
) -> BudgetEnvelope:
    return _envelope(request, session, caller, service.update(session, caller, line_id, body))


@router.delete("/{line_id}", status_code=204, response_class=Response, summary="Remove a budget line")
def delete_budget(line_id: str, session: SessionDep, caller: ManageWrite) -> Response:
    service.delete(session, caller, line_id)
    return Response(status_code=204)


def _envelope(request: Request, session: Session, caller: Caller, row: BudgetLine) -> BudgetEnvelope:
    line = service.line_of(session, caller, row)
    tz = service.org_timezone(session, caller)
    return BudgetEnvelope(budget=service.present(caller, [line], tz_name=tz, guard=guard_of(request))[0])


doctor_router = APIRouter(prefix="/doctor", tags=["budgets"], responses=ERRORS)


def _report(report: doctor.Report) -> DoctorReport:
    return DoctorReport(
        healthy=report.healthy,
        repaired=report.repaired,
        checked=report.checked,
        drifts=[
            DriftOut(counter=d.counter, expected=nanos_to_text(d.expected), actual=nanos_to_text(d.actual))
            for d in report.drifts
        ],
        invariants=[
            InvariantOut(
                org_id=i.org_id,
                month=i.month,
                holds=i.holds,
                org_total=nanos_to_text(i.org_total),
                top_level_groups=nanos_to_text(i.top_level_groups),
                personal_keys=nanos_to_text(i.personal_keys),
            )
            for i in report.invariants
        ],
    )


async def _examine(request: Request, caller: ManageRead) -> doctor.Report:
    caller.require_org_admin("Checking the budget counters")
    runtime = get_budgets(request)
    guard = runtime.guard
    return await doctor.examine(runtime.db, guard.store, book=guard.book, at=guard.clock(), org_ids=[caller.org_id])


@doctor_router.get("", response_model=DoctorReport, summary="Compare this period's counters with the usage records")
async def check_counters(request: Request, caller: ManageRead) -> DoctorReport:
    return _report(await _examine(request, caller))


@doctor_router.post("/repair", response_model=DoctorReport, summary="Set drifted counters to the usage records' sums")
async def repair_counters(request: Request, session: SessionDep, caller: ManageWrite) -> DoctorReport:
    report = await doctor.repair(get_budgets(request).guard.store, await _examine(request, caller))
    if report.drifts:
        after = {d.counter: nanos_to_text(d.expected) for d in report.drifts}
        before = {d.counter: nanos_to_text(d.actual) for d in report.drifts}
        audit.record(session, caller, "budget.repair", "budget", None, before=before, after=after)
    return _report(report)
