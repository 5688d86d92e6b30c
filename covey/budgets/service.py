"""Rules about budget lines: who may set which (org admins everything; a group admin the groups,
per-member lines and keys of their subtree), one audit event per change.

Requesty's monthly fields are lines too and are listed here, but are changed where they live
(`/apikey/{id}/limit`, `PATCH /user/{id}`, `PATCH /group/{id}`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth import authority
from covey.auth.caller import Caller
from covey.auth.permissions import loosens
from covey.budgets import repository
from covey.budgets.guard import Guard
from covey.budgets.lines import Line
from covey.budgets.periods import period_key, zone
from covey.budgets.schemas import BudgetCreate, BudgetOut, BudgetUpdate
from covey.kit.clock import utcnow
from covey.kit.errors import Conflict, Forbidden, NotFound
from covey.kit.fields import limit_nanos
from covey.kit.money import nanos_to_text
from covey.models import BudgetLine
from covey.orgs import repository as orgs_repo

_SOURCES = {
    "monthly_limit": "monthly_limit",
    "monthly_budget": "monthly_budget",
    "monthly_budget_per_user": "monthly_budget_per_user",
    "monthly_cap": "monthly_cap",
}
_NOUN = {"key": "API key", "user": "user", "group": "group", "member": "group", "org": "organization"}


def _owner(session: Session, caller: Caller, owner_type: str, owner_id: str) -> Any:
    """The named owner, or 404 (another org's object is not found either)."""
    found = repository.owner(session, org_id=caller.org_id, owner_type=owner_type, owner_id=owner_id)
    if found is None:
        raise NotFound(f"owner_id: {_NOUN[owner_type]} {owner_id} not found")
    return found


def _may_manage(caller: Caller, owner_type: str, owner: Any) -> bool:
    scope = caller.scope
    if owner_type in ("group", "member"):
        return scope.can_manage_group(owner.id)
    if owner_type == "key":
        return scope.can_manage_under(owner.group_id)
    return scope.is_org_admin


def _may_read(caller: Caller, owner_type: str, owner: Any) -> bool:
    if _may_manage(caller, owner_type, owner):
        return True
    if owner_type == "user":
        return bool(owner.id == caller.user_id)
    if owner_type == "key":
        return caller.scope.can_manage_key(owner_id=owner.owner_id, group_id=owner.group_id)
    return owner_type in ("group", "member") and caller.scope.can_read_group(owner.id)


def snapshot(row: BudgetLine) -> dict[str, Any]:
    return {
        "id": row.id,
        "owner_type": row.owner_type,
        "owner_id": row.owner_id,
        "period": row.period,
        "amount": nanos_to_text(row.amount_nanos),
        "enforcement": row.enforcement,
        "thresholds": list(row.thresholds or ()),
    }


def create(session: Session, caller: Caller, data: BudgetCreate) -> BudgetLine:
    owner_id = caller.org_id if data.owner_type == "org" else str(data.owner_id)
    owner = _owner(session, caller, data.owner_type, owner_id)
    if not _may_manage(caller, data.owner_type, owner):
        raise Forbidden(f"You may not set budgets of this {_NOUN[data.owner_type]}")
    if repository.find_row(
        session,
        org_id=caller.org_id,
        owner_type=data.owner_type,
        owner_id=owner_id,
        period=data.period,
        enforcement=data.enforcement,
    ):
        raise Conflict(f"a {data.enforcement} {data.period} budget of this {_NOUN[data.owner_type]} already exists")
    row = repository.add(
        session,
        BudgetLine(
            org_id=caller.org_id,
            owner_type=data.owner_type,
            owner_id=owner_id,
            period=data.period,
            amount_nanos=limit_nanos(data.amount),
            enforcement=data.enforcement,
            thresholds=list(data.thresholds),
            created_by=caller.actor.id,
        ),
    )
    audit.record(session, caller, "budget.create", "budget", row.id, after=snapshot(row))
    return row


def _row(session: Session, caller: Caller, line_id: str, *, write: bool) -> BudgetLine:
    row = repository.get_row(session, org_id=caller.org_id, line_id=line_id)
    if row is None:
        raise NotFound("budget not found")
    owner = _owner(session, caller, row.owner_type, row.owner_id) if row.owner_type != "org" else None
    allowed = (_may_manage if write else _may_read)(caller, row.owner_type, owner)
    if not allowed:
        raise Forbidden("You may not change this budget" if write else "You may not see this budget")
    return row


def get(session: Session, caller: Caller, line_id: str) -> BudgetLine:
    return _row(session, caller, line_id, write=False)


def update(session: Session, caller: Caller, line_id: str, data: BudgetUpdate) -> BudgetLine:
    row = _row(session, caller, line_id, write=True)
    fields = data.model_fields_set
    if "enforcement" in fields and data.enforcement != row.enforcement:
        clash = repository.find_row(
            session,
            org_id=caller.org_id,
            owner_type=row.owner_type,
            owner_id=row.owner_id,
            period=row.period,
            enforcement=str(data.enforcement),
        )
        if clash is not None:
            raise Conflict(f"a {data.enforcement} {row.period} budget of this owner already exists")
    old, new = row.amount_nanos or None, limit_nanos(data.amount) if data.amount is not None else row.amount_nanos
    softened = row.enforcement == "hard" and data.enforcement == "soft"
    if loosens(old, new or None) or softened:
        field = "enforcement" if softened else "amount"
        authority.require_may_loosen(session, caller, field=field, setter_id=row.created_by)
    before = snapshot(row)
    if data.amount is not None:
        row.amount_nanos = limit_nanos(data.amount) or 0
    if data.enforcement is not None:
        row.enforcement = data.enforcement
    if data.thresholds is not None:
        row.thresholds = list(data.thresholds)
    session.flush()
    audit.record(session, caller, "budget.update", "budget", row.id, before=before, after=snapshot(row))
    return row


def delete(session: Session, caller: Caller, line_id: str) -> None:
    row = _row(session, caller, line_id, write=True)
    authority.require_may_loosen(session, caller, field="budget", setter_id=row.created_by)
    before = snapshot(row)
    audit.record(session, caller, "budget.delete", "budget", row.id, before=before)
    repository.delete(session, row)


def list_visible(session: Session, caller: Caller, *, owner_type: str | None, owner_id: str | None) -> list[Line]:
    lines = repository.all_lines(session, org_id=caller.org_id)
    if owner_type:
        lines = [ln for ln in lines if ln.owner_type == owner_type]
    if owner_id:
        lines = [ln for ln in lines if ln.owner_id == owner_id]
    if caller.scope.is_org_admin:
        return lines
    keys = {k.id: k for k in repository.keys(session, org_id=caller.org_id)}
    out = []
    for ln in lines:
        owner: Any = keys.get(ln.owner_id) if ln.owner_type == "key" else _Ref(ln.owner_id)
        if owner is not None and _may_read(caller, ln.owner_type, owner):
            out.append(ln)
    return out


class _Ref:
    __slots__ = ("id",)

    def __init__(self, id: str) -> None:
        self.id = id


def present(caller: Caller, lines: list[Line], *, tz_name: str, guard: Guard | None) -> list[BudgetOut]:
    now = utcnow() if guard is None else guard.clock()
    tz = zone(tz_name)
    scopes = [(ln.scope(""), ln.period) for ln in lines]
    spend: list[int | None] = guard.period_spend(caller.org_id, scopes) if guard is not None else [None] * len(lines)
    out = []
    for ln, spent in zip(lines, spend, strict=True):
        source = "budget_line"
        if ln.id.count(":") == 2:
            source = _SOURCES.get(ln.id.rsplit(":", 1)[1], "budget_line")
        out.append(
            BudgetOut(
                id=ln.id,
                source=source,
                owner_type=ln.owner_type,
                owner_id=ln.owner_id,
                owner_name=ln.name,
                period=ln.period,
                period_key=period_key(ln.period, now, tz),
                amount=nanos_to_text(ln.amount),
                enforcement=ln.enforcement,
                thresholds=list(ln.thresholds),
                current_spend=None if ln.owner_type == "member" or spent is None else nanos_to_text(spent),
            )
        )
    return out


def line_of(session: Session, caller: Caller, row: BudgetLine) -> Line:
    return repository.as_line(row, repository.owner_names(session, org_id=caller.org_id))


def org_timezone(session: Session, caller: Caller) -> str:
    org = orgs_repo.get(session, caller.org_id)
    return (org.timezone if org else None) or "UTC"
