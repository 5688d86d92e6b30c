"""The group tree and a group's own page: create, move (drag a group onto another), settings, budgets,
features, access list, delete. Every change goes through `covey.groups.service`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import JSONResponse, Response

from covey.access import service as access
from covey.admin import grouping, repository, spend
from covey.admin.budgets import lines_of_group
from covey.admin.chart import bar_chart
from covey.admin.forms import blank_to_none
from covey.admin.web import PREFIX, AdminDep, PanelRoute, page, redirect, wants_json
from covey.auth.deps import SessionDep
from covey.groups import repository as groups_repo
from covey.groups import service as groups
from covey.groups import tree as tree_rules
from covey.groups.schemas import GroupCreate, GroupUpdate
from covey.keys import service as keys
from covey.kit.clock import utcnow
from covey.kit.errors import BadRequest

router = APIRouter(route_class=PanelRoute)


def group_budgets(session: Any, org_id: str) -> dict[str, int]:
    """Each group's monthly budget in nano-dollars, for the spend bars (exact, unlike the API's floats)."""
    return {g.id: g.monthly_budget for g in groups_repo.all_in_org(session, org_id=org_id) if g.monthly_budget}


def member_totals(session: Any, org_id: str) -> dict[str, int]:
    """Each group's members: distinct people anywhere in its subtree (see `grouping`)."""
    parent_of = groups_repo.parent_map(session, org_id=org_id)
    return grouping.member_totals(parent_of, groups_repo.all_memberships(session, org_id=org_id))


KINDS = ("department", "project", "function", "custom")
FEATURES = ("streaming", "tools", "structured_outputs", "reasoning", "embeddings", "auto_caching")


@router.get("/groups", include_in_schema=False)
def tree(request: Request, panel: AdminDep, session: SessionDep) -> Response:
    caller = panel.caller
    month = spend.current_month(panel.org.timezone, utcnow())
    nodes = groups.tree(session, caller)
    visible = groups.list_visible(session, caller)
    return page(
        request,
        panel,
        "groups.html",
        tree=nodes,
        parents=grouping.choices(visible, among={g.id for g in visible if caller.scope.can_manage_group(g.id)}),
        group_spend=repository.by_group(session, org_id=caller.org_id, month=month),
        can_manage={g.id for g in visible if caller.scope.can_manage_group(g.id)},
        budgets=group_budgets(session, caller.org_id),
        month=month,
        kinds=KINDS,
    )


@router.post("/groups", include_in_schema=False)
def create(
    request: Request,
    panel: AdminDep,
    session: SessionDep,
    name: Annotated[str, Form()],
    parent_id: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "custom",
    description: Annotated[str, Form()] = "",
) -> Response:
    data = GroupCreate.model_validate(
        {"name": name, "parent_id": blank_to_none(parent_id), "kind": kind, "description": description}
    )
    group = groups.create(session, panel.caller, data)
    return redirect(request, f"{PREFIX}/groups/{group.id}", f'Created group "{group.name}".')


@router.post("/groups/{group_id}/move", include_in_schema=False)
def move(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    parent_id: Annotated[str, Form()] = "",
) -> Response:
    """Drag a group onto another (or onto the top level): a PATCH of its parent, cycles refused (409)."""
    group = groups.update(session, panel.caller, group_id, GroupUpdate(parent_id=blank_to_none(parent_id)))
    message = f'Moved "{group.name}".'
    if wants_json(request):
        return JSONResponse({"ok": True, "message": message})
    return redirect(request, f"{PREFIX}/groups/{group.id}", message)


@router.get("/groups/{group_id}", include_in_schema=False)
def group_page(request: Request, group_id: str, panel: AdminDep, session: SessionDep) -> Response:
    caller = panel.caller
    detail = groups.detail(session, caller, group_id)
    periods = spend.months(panel.org.timezone, utcnow())
    month = periods[-1]
    trend = repository.trend(session, org_id=caller.org_id, group_id=detail.id, periods=periods)
    visible = groups.list_visible(session, caller)
    names = {g.id: g.name for g in visible}
    parent_of = {g.id: g.parent_id for g in visible}
    ancestors = [(gid, names[gid]) for gid in reversed(tree_rules.ancestors(parent_of, detail.id)) if gid in names]
    managed = {g.id for g in visible if caller.scope.can_manage_group(g.id)}
    scope = caller.scope
    # Moving takes the group out of its parent and puts it under another: both must be the caller's.
    movable = scope.can_manage_under(detail.parent_id)
    lists = access.list_all(session, caller)
    return page(
        request,
        panel,
        "group.html",
        group=detail,
        ancestors=ancestors,
        can_manage=caller.scope.can_manage_group(detail.id),
        tree=groups.tree(session, caller),
        targets=grouping.choices(visible, among=managed, excluding={detail.id}),
        parents=grouping.choices(visible, among=managed, excluding=grouping.subtree(visible, detail.id)),
        movable=movable,
        total_members=member_totals(session, caller.org_id).get(detail.id, 0),
        can_manage_ids=managed,
        spent=trend[-1],
        member_spend=repository.members_through_group(session, org_id=caller.org_id, group_id=detail.id, month=month),
        chart=bar_chart([p.label for p in periods], trend),
        models=repository.top_models(session, org_id=caller.org_id, group_id=detail.id, month=month),
        features_used=repository.feature_use(session, org_id=caller.org_id, group_id=detail.id, month=month),
        keys=keys.present(session, caller, keys.list_visible(session, caller, group_id=detail.id)),
        access_lists=lists,
        access_list=next((a for a in lists if a.id == detail.access_list_id), None),
        features=FEATURES,
        kinds=KINDS,
        month=month,
        group_spend=repository.by_group(session, org_id=caller.org_id, month=month),
        budgets=group_budgets(session, caller.org_id),
        per_user=groups.get_readable(session, caller, detail.id).monthly_budget_per_user,
        budget_lines=lines_of_group(request, session, panel, detail.id),
    )


@router.post("/groups/{group_id}/settings", include_in_schema=False)
def settings(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    default: Annotated[bool, Form()] = False,
    expires_at: Annotated[str, Form()] = "",
) -> Response:
    fields: dict[str, Any] = {"name": name, "kind": kind, "description": description}
    current = groups.get_readable(session, panel.caller, group_id)
    if default != current.is_default:
        fields["default"] = default
    expiry = blank_to_none(expires_at)
    try:
        fields["expires_at"] = datetime.fromisoformat(expiry) if expiry else None
    except ValueError:
        raise BadRequest(f"expires_at: {expiry!r} is not a date and time") from None
    group = groups.update(session, panel.caller, group_id, GroupUpdate.model_validate(fields))
    return redirect(request, f"{PREFIX}/groups/{group.id}", "Saved the group's settings.")


@router.post("/groups/{group_id}/budget", include_in_schema=False)
def budget(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    monthly_budget: Annotated[str, Form()] = "",
    monthly_budget_per_user: Annotated[str, Form()] = "",
) -> Response:
    """Empty or 0 means unlimited (Requesty's convention)."""
    data = GroupUpdate.model_validate(
        {
            "monthly_budget": monthly_budget.strip() or Decimal(0),
            "monthly_budget_per_user": monthly_budget_per_user.strip() or Decimal(0),
        }
    )
    group = groups.update(session, panel.caller, group_id, data)
    return redirect(request, f"{PREFIX}/groups/{group.id}#budgets", "Saved the budgets.")


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


@router.post("/groups/{group_id}/features", include_in_schema=False)
def features(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    form: Annotated[dict[str, str], Depends(_form)],
) -> Response:
    """Each feature is inherited (not in the map), on or off."""
    current = groups.get_readable(session, panel.caller, group_id)
    # Switches this form does not show are kept as they are: the map replaces the group's whole map.
    kept = {name: bool(on) for name, on in (current.features or {}).items() if name not in FEATURES}
    chosen = {
        name: form.get(f"feature_{name}") == "on" for name in FEATURES if form.get(f"feature_{name}") in ("on", "off")
    }
    group = groups.update(session, panel.caller, group_id, GroupUpdate(features=kept | chosen))
    return redirect(request, f"{PREFIX}/groups/{group.id}#access", "Saved the features.")


@router.post("/groups/{group_id}/access-list", include_in_schema=False)
def access_list(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    access_list_id: Annotated[str, Form()] = "",
) -> Response:
    group = groups.update(session, panel.caller, group_id, GroupUpdate(access_list_id=blank_to_none(access_list_id)))
    return redirect(request, f"{PREFIX}/groups/{group.id}#access", "Saved the access list.")


@router.post("/groups/{group_id}/delete", include_in_schema=False)
def delete(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    recursive: Annotated[bool, Form()] = False,
) -> Response:
    group = groups.get_readable(session, panel.caller, group_id)
    name = group.name
    below = len(grouping.subtree(groups.list_visible(session, panel.caller), group.id)) - 1
    if below and not recursive:
        subgroups = "a subgroup" if below == 1 else f"{below} subgroups"
        message = f"{name} has {subgroups}. Tick “With all its subgroups” to delete them too, or move them first."
        return redirect(request, f"{PREFIX}/groups/{group.id}", message, kind="error")
    groups.delete(session, panel.caller, group_id, recursive=recursive)
    return redirect(request, f"{PREFIX}/groups", f'Deleted group "{name}".')
