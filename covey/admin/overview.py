"""The landing page: month-to-date spend against the org budget, the top groups, recent alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from covey.admin import grouping, repository, spend
from covey.admin.chart import bar_chart
from covey.admin.groups import group_budgets, member_totals
from covey.admin.web import PREFIX, PanelDep, PanelRoute, page, redirect
from covey.alerts import service as alerts
from covey.auth.caller import Caller
from covey.auth.deps import SessionDep
from covey.budgets import service as budgets
from covey.groups import service as groups
from covey.kit.clock import utcnow
from covey.kit.pagination import Page

router = APIRouter(route_class=PanelRoute)


def _org_monthly_budget(session: Session, caller: Caller) -> int | None:
    """The tightest monthly budget on the whole organization (its cap or a budget line), if any."""
    lines = budgets.list_visible(session, caller, owner_type="org", owner_id=None)
    return min((ln.amount for ln in lines if ln.period == "month"), default=None)


@router.get("/", include_in_schema=False)
def overview(request: Request, panel: PanelDep, session: SessionDep) -> Response:
    if not panel.is_admin:
        return redirect(request, PREFIX + "/me")
    caller = panel.caller
    now = utcnow()
    periods = spend.months(panel.org.timezone, now)
    month = periods[-1]
    by_group = repository.by_group(session, org_id=caller.org_id, month=month)
    visible = groups.list_visible(session, caller)
    managed = [g for g in visible if caller.scope.can_manage_group(g.id)]
    top = sorted(managed, key=lambda g: (-by_group.get(g.id, 0), g.name.lower()))[:8]
    context: dict[str, Any] = {
        "month": month,
        "top_groups": top,
        "group_spend": by_group,
        "budgets": group_budgets(session, caller.org_id),
        "members": member_totals(session, caller.org_id),
        "paths": grouping.paths(visible),
    }
    if panel.is_org_admin:
        trend = repository.trend(session, org_id=caller.org_id, group_id=None, periods=periods)
        context.update(
            org_spend=trend[-1],
            org_budget=_org_monthly_budget(session, caller),
            chart=bar_chart([p.label for p in periods], trend, width=1100, height=260),
            alerts=alerts.alerts(session, caller, since=None, page=Page(limit=8, offset=0))[0],
            models=repository.top_models(session, org_id=caller.org_id, group_id=None, month=month, limit=5),
        )
    return page(request, panel, "overview.html", **context)
