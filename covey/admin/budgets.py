"""Budget lines with alert thresholds on a group's page (beyond Requesty's two monthly fields, which
the group's own form edits): add a line, remove one. `covey.budgets.service` decides who may."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from covey.admin.web import PREFIX, AdminDep, Panel, PanelRoute, redirect
from covey.auth.deps import SessionDep
from covey.budgets import service as budgets
from covey.budgets.schemas import BudgetCreate, BudgetOut
from covey.kit.errors import BadRequest
from covey.state import get_budgets

router = APIRouter(route_class=PanelRoute)


def parse_thresholds(text: str) -> list[int]:
    """`50, 80, 100` → [50, 80, 100]."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip().rstrip("%")
        if not part:
            continue
        if not part.isdigit():
            raise BadRequest(f"thresholds: {part!r} is not a whole percent")
        out.append(int(part))
    return out


def lines_of_group(request: Request, session: Session, panel: Panel, group_id: str) -> list[BudgetOut]:
    """The group's budget lines and per-member lines, with this period's spend where the guard knows it."""
    caller = panel.caller
    lines = [
        ln
        for ln in budgets.list_visible(session, caller, owner_type=None, owner_id=group_id)
        if ln.owner_type in ("group", "member")
    ]
    guard = get_budgets(request).guard
    return budgets.present(caller, lines, tz_name=panel.org.timezone or "UTC", guard=guard)


@router.post("/groups/{group_id}/budget-lines", include_in_schema=False)
def add_line(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    amount: Annotated[str, Form()],
    owner_type: Annotated[str, Form()] = "group",
    period: Annotated[str, Form()] = "month",
    enforcement: Annotated[str, Form()] = "soft",
    thresholds: Annotated[str, Form()] = "50, 80, 100",
) -> Response:
    data = BudgetCreate.model_validate(
        {
            "owner_type": owner_type,
            "owner_id": group_id,
            "period": period,
            "amount": amount.strip(),
            "enforcement": enforcement,
            "thresholds": parse_thresholds(thresholds),
        }
    )
    budgets.create(session, panel.caller, data)
    return redirect(request, f"{PREFIX}/groups/{group_id}#budgets", "Added the budget line.")


@router.post("/groups/{group_id}/budget-lines/{line_id}/delete", include_in_schema=False)
def delete_line(request: Request, group_id: str, line_id: str, panel: AdminDep, session: SessionDep) -> Response:
    budgets.delete(session, panel.caller, line_id)
    return redirect(request, f"{PREFIX}/groups/{group_id}#budgets", "Removed the budget line.")
