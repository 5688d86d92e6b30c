"""Analytics (spend by group and model over time, cost allocation with CSV), recommendations with the
actions that settle them, and alerts with their webhooks — each page over the service the management
API uses."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from covey.admin import chart, grouping, repository, spend
from covey.admin.web import PREFIX, AdminDep, OrgAdminDep, Panel, PanelRoute, page, redirect, show_once
from covey.alerts import service as alerts
from covey.alerts.schemas import WebhookCreate, WebhookUpdate
from covey.auth.deps import SessionDep
from covey.budgets.periods import month_key
from covey.groups import service as groups
from covey.kit.clock import utcnow
from covey.kit.errors import BadRequest
from covey.kit.money import to_nanos
from covey.kit.pagination import Page
from covey.reports import export, periods, recommendations
from covey.reports import service as reports
from covey.reports.schemas import GroupSpend
from covey.state import SettingsDep
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)

TREND_MONTHS = 6
RECOMMENDATIONS = f"{PREFIX}/recommendations"


@router.get("/analytics", include_in_schema=False)
def analytics(request: Request, panel: AdminDep, session: SessionDep, month: str | None = None) -> Response:
    caller = panel.caller
    chosen = periods.parse_month(month) or reports.this_month(session, caller)
    by_month = reports.group_spend(session, caller, months=TREND_MONTHS, group_id=None)
    allocation = reports.allocation(session, caller, month=chosen) if panel.is_org_admin else None
    current = spend.current_month(panel.org.timezone, utcnow())
    rows = _as_tree(by_month.groups)
    labels = [m.month for m in by_month.groups[0].months] if by_month.groups else []
    top = max((to_nanos(Decimal(m.spend)) for g in by_month.groups for m in g.months), default=0)
    return page(
        request,
        panel,
        "analytics.html",
        month=month_key(chosen),
        months=labels,
        groups=rows,
        sparks={
            g.group_id: chart.sparks(labels, [to_nanos(Decimal(m.spend)) for m in g.months], top=top) for g, _ in rows
        },
        compared=chart.comparison(
            labels,
            [(g.name, [to_nanos(Decimal(m.spend)) for m in g.months]) for g, depth in rows if depth == 0][
                : chart.COMPARED
            ],
        ),
        spark_width=len(labels) * (chart.SPARK_WIDTH + chart.SPARK_GAP),
        spark_height=chart.SPARK_HEIGHT,
        allocation=allocation,
        models=repository.top_models(session, org_id=caller.org_id, group_id=None, month=current, limit=10)
        if panel.is_org_admin
        else [],
        model_months=_models_by_month(session, panel) if panel.is_org_admin else None,
    )


def _as_tree(groups: list[GroupSpend]) -> list[tuple[GroupSpend, int]]:
    """Each group followed by its subgroups, indented by depth; siblings by this month's spend. A group
    whose parent is not in the report starts a tree of its own."""
    present = {g.group_id for g in groups}
    children: dict[str | None, list[GroupSpend]] = {}
    for g in groups:
        children.setdefault(g.parent_id if g.parent_id in present else None, []).append(g)
    out: list[tuple[GroupSpend, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for g in sorted(children.get(parent, []), key=lambda g: (-Decimal(g.month_to_date), g.name.lower())):
            out.append((g, depth))
            walk(g.group_id, depth + 1)

    walk(None, 0)
    return out


def _models_by_month(session: Session, panel: Panel) -> dict[str, Any]:
    """The organization's spend per model over the last months, the biggest models first."""
    recent = spend.months(panel.org.timezone, utcnow(), TREND_MONTHS)
    table: dict[str, dict[str, int]] = {}
    for month in recent:
        for row in repository.top_models(session, org_id=panel.caller.org_id, group_id=None, month=month, limit=50):
            table.setdefault(row.model, {})[month.label] = row.cost_nanos
    ranked = sorted(table, key=lambda m: (-sum(table[m].values()), m))[:10]
    return {"months": [m.label for m in recent], "rows": [(m, table[m]) for m in ranked]}


@router.get("/analytics/allocation.csv", include_in_schema=False)
def allocation_csv(panel: OrgAdminDep, session: SessionDep, month: str | None = None) -> Response:
    report = reports.allocation(session, panel.caller, month=periods.parse_month(month))
    return export.csv_response(export.allocation_table(report), f"allocation-{report.month}")


@router.get("/recommendations", include_in_schema=False)
def recommendations_page(request: Request, panel: AdminDep, session: SessionDep) -> Response:
    """Each recommendation with what acts on it: a button where one change settles it (the groups
    service's, with the caller's rights), a link to where it is decided otherwise. An action is offered
    only on a group the caller manages; the service checks again whatever the form says."""
    caller = panel.caller
    found = recommendations.recommend(session, caller)
    visible = groups.list_visible(session, caller)
    managed = {g.id for g in visible if caller.scope.can_manage_group(g.id)}
    return page(
        request,
        panel,
        "recommendations.html",
        recommendations=found.recommendations,
        people=recommendations.people(session, caller, found),
        paths=grouping.paths(visible),
        managed=managed,
        targets=grouping.choices(visible, among=managed),
    )


@router.post("/recommendations/remove-member", include_in_schema=False)
def remove_inactive_member(
    request: Request,
    panel: AdminDep,
    session: SessionDep,
    group_id: Annotated[str, Form(min_length=1)],
    user_id: Annotated[str, Form(min_length=1)],
) -> Response:
    caller = panel.caller
    person = groups.remove_member(session, caller, group_id, user_id=user_id)
    where = groups.path_of(session, org_id=caller.org_id, group=groups.get_readable(session, caller, group_id))
    return redirect(request, RECOMMENDATIONS, f'Removed {person.label} from "{where}".')


@router.post("/recommendations/add-member", include_in_schema=False)
def add_to_group(
    request: Request,
    panel: AdminDep,
    session: SessionDep,
    user_id: Annotated[str, Form(min_length=1)],
    group_id: Annotated[str, Form()] = "",
) -> Response:
    """A person in no group into the group picked for them, or someone into the group their usage suggests."""
    caller = panel.caller
    if not group_id:
        raise BadRequest("Pick a group to add them to.")
    groups.add_member(session, caller, group_id, user_id=user_id)
    person = users.get_visible(session, caller, user_id)
    where = groups.path_of(session, org_id=caller.org_id, group=groups.get_readable(session, caller, group_id))
    return redirect(request, RECOMMENDATIONS, f'Added {person.label} to "{where}".')


@router.get("/alerts", include_in_schema=False)
def alerts_page(request: Request, panel: OrgAdminDep, session: SessionDep, offset: int = 0) -> Response:
    caller = panel.caller
    rows, total = alerts.alerts(session, caller, since=None, page=Page(limit=50, offset=max(offset, 0)))
    hooks = alerts.list_all(session, caller)
    visible = groups.list_visible(session, caller)
    return page(
        request,
        panel,
        "alerts.html",
        alerts=rows,
        total=total,
        webhooks=hooks,
        scopes=alerts.scopes(session, org_id=caller.org_id, hooks=hooks),
        targets=grouping.choices(visible, among={g.id for g in visible}),
    )


@router.post("/webhooks", include_in_schema=False)
def create_webhook(
    request: Request,
    panel: OrgAdminDep,
    session: SessionDep,
    settings: SettingsDep,
    url: Annotated[str, Form()],
    format: Annotated[str, Form()] = "generic",
    group_id: Annotated[str, Form()] = "",
) -> Response:
    """A webhook for the whole organization's alerts, or (a group picked) for that group's and its subgroups'."""
    data = WebhookCreate.model_validate({"url": url, "format": format, "group_id": group_id or None})
    hook, secret = alerts.create(session, panel.caller, data, allowed_hosts=settings.webhook_allowed_hosts)
    to = f"{PREFIX}/alerts"
    return show_once(request, redirect(request, to), panel, to=to, kind="webhook", url=hook.url, secret=secret)


@router.post("/webhooks/{webhook_id}/enabled", include_in_schema=False)
def toggle_webhook(
    request: Request,
    webhook_id: str,
    panel: OrgAdminDep,
    session: SessionDep,
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    hook = alerts.update(session, panel.caller, webhook_id, WebhookUpdate(enabled=enabled), allowed_hosts=())
    return redirect(request, f"{PREFIX}/alerts", f"{'Enabled' if hook.enabled else 'Paused'} {hook.url}.")


@router.post("/webhooks/{webhook_id}/delete", include_in_schema=False)
def delete_webhook(request: Request, webhook_id: str, panel: OrgAdminDep, session: SessionDep) -> Response:
    hook = alerts.get(session, panel.caller, webhook_id)
    url = hook.url
    alerts.delete(session, panel.caller, webhook_id)
    return redirect(request, f"{PREFIX}/alerts", f"Deleted the webhook {url}.")
