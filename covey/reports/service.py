"""Covey's spend reports (`/v1/manage/report/…`). Months are calendar months in the org's timezone
(`covey.budgets.periods`), the months budgets count and the panel shows; a report for no month named is
for the org's current one.

Group figures come from `usage_group_months`, where a request is charged to the groups it was
charged to when it was made (docs/design.md §3): a group's figures include its subtree, each request once.
Cost allocation instead follows the *current* tree from each request's own group, so every
nano-dollar lands on exactly one line even after groups moved or were deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.budgets.periods import add_months, month_key, month_of, project_to_month_end, zone
from covey.groups import tree
from covey.kit.clock import utcnow
from covey.kit.errors import Forbidden, NotFound
from covey.kit.money import nanos_to_text
from covey.models import Group
from covey.reports import repository
from covey.reports.figures import breakdown, counters, efficiency, merge, money, share
from covey.reports.schemas import (
    AllocationLine,
    AllocationReport,
    FeatureUse,
    GroupReport,
    GroupSpend,
    GroupSpendReport,
    MonthSpend,
    TopGroupTotal,
    TreeNode,
    TreeReport,
    UserReport,
)
from covey.reports.tables import FEATURE_COUNTERS, GroupMonthRollup, UserMonthRollup


def _group(session: Session, caller: Caller, group_id: str) -> Group:
    found = {g.id: g for g in repository.groups(session, org_id=caller.org_id)}.get(group_id)
    if found is None:
        raise NotFound("group not found")
    if not caller.scope.can_manage_group(group_id):
        raise Forbidden(f'Reading the spend of group "{found.name}" needs the org admin role or the group admin role')
    return found


def org_zone(session: Session, caller: Caller) -> ZoneInfo:
    """The timezone of the caller's org: its calendar is the reports' calendar."""
    return zone(repository.org_timezone(session, org_id=caller.org_id))


def this_month(session: Session, caller: Caller, now: datetime | None = None) -> date:
    """The org's current month, by its first day."""
    return month_of(now or utcnow(), org_zone(session, caller))


def _month_bounds(session: Session, caller: Caller, month: date | None) -> tuple[date, date]:
    """A month of the rollups (their months are the org's), the current one for None."""
    first = month or this_month(session, caller)
    return first, add_months(first, 1)


# --- group spend by month ---------------------------------------------------------------------


def group_spend(
    session: Session, caller: Caller, *, months: int, group_id: str | None, now: datetime | None = None
) -> GroupSpendReport:
    now = now or utcnow()
    tz = org_zone(session, caller)
    current = month_of(now, tz)
    first = add_months(current, -(months - 1))
    all_groups = repository.groups(session, org_id=caller.org_id)
    if group_id is not None:
        chosen = [_group(session, caller, group_id)]
    else:
        seen = caller.scope.managed_groups
        chosen = [g for g in all_groups if seen is None or g.id in seen]
    ids = [g.id for g in chosen]
    rows = repository.sum_rollups(
        session,
        GroupMonthRollup,
        org_id=caller.org_id,
        start=first,
        end=add_months(current, 1),
        by=[GroupMonthRollup.group_id, GroupMonthRollup.month],
        where=[GroupMonthRollup.group_id.in_(ids)],
        counters=("cost_nanos",),
    )
    spend: dict[tuple[str, str], int] = {(gid, month_key(month)): int(cost) for gid, month, cost in rows}
    labels = [month_key(add_months(first, i)) for i in range(months)]
    this, last = month_key(current), month_key(add_months(current, -1))
    out = []
    for g in chosen:
        mtd = spend.get((g.id, this), 0)
        projected = project_to_month_end(mtd, current, now, tz)
        previous = spend.get((g.id, last), 0)
        out.append(
            GroupSpend(
                group_id=g.id,
                name=g.name,
                parent_id=g.parent_id,
                monthly_budget=money(g.monthly_budget),
                months=[MonthSpend(month=m, spend=nanos_to_text(spend.get((g.id, m), 0))) for m in labels],
                month_to_date=nanos_to_text(mtd),
                projected=nanos_to_text(projected),
                projected_over_budget=g.monthly_budget is not None and projected > g.monthly_budget,
                last_month=nanos_to_text(previous),
                trend=share(projected, previous),
            )
        )
    return GroupSpendReport(month=this, groups=out)


# --- the tree ---------------------------------------------------------------------------------


def group_tree(session: Session, caller: Caller, *, month: date | None = None) -> TreeReport:
    start, end = _month_bounds(session, caller, month)
    all_groups = {g.id: g for g in repository.groups(session, org_id=caller.org_id)}
    parent_of = {gid: g.parent_id for gid, g in all_groups.items()}
    rows = repository.sum_rollups(
        session,
        GroupMonthRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[GroupMonthRollup.group_id, GroupMonthRollup.own],
        counters=("requests", "cost_nanos"),
    )
    spend: dict[str, int] = {}
    requests: dict[str, int] = {}
    org_total = 0
    for gid, own, reqs, cost in rows:
        if own:
            org_total += int(cost)
        if gid:
            spend[gid] = spend.get(gid, 0) + int(cost)
            requests[gid] = requests.get(gid, 0) + int(reqs)
    seen = caller.scope.managed_groups
    shown = set(all_groups) if seen is None else set(seen) & set(all_groups)
    kids = tree.children_map(parent_of)
    roots = sorted((gid for gid in shown if parent_of[gid] not in shown), key=lambda gid: all_groups[gid].name.lower())
    nodes: list[TreeNode] = []

    def visit(gid: str, depth: int) -> None:
        g = all_groups[gid]
        parent = g.parent_id
        if parent is not None and parent in shown:
            of_parent = share(spend.get(gid, 0), spend.get(parent, 0))
        elif parent is None and seen is None:
            of_parent = share(spend.get(gid, 0), org_total)
        else:
            of_parent = None
        nodes.append(
            TreeNode(
                group_id=gid,
                name=g.name,
                parent_id=parent,
                depth=depth,
                spend=nanos_to_text(spend.get(gid, 0)),
                requests=requests.get(gid, 0),
                monthly_budget=money(g.monthly_budget),
                budget_used=share(spend.get(gid, 0), g.monthly_budget) if g.monthly_budget else None,
                share_of_parent=of_parent,
            )
        )
        for child in sorted(kids.get(gid, ()), key=lambda c: all_groups[c].name.lower()):
            if child in shown:
                visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    return TreeReport(month=month_key(start), org_total=nanos_to_text(org_total) if seen is None else None, nodes=nodes)


# --- one group --------------------------------------------------------------------------------


def _model_name(model_used: str, model_requested: str) -> str:
    return model_used or model_requested


def group_report(
    session: Session, caller: Caller, group_id: str, *, month: date | None = None, top: int = 10
) -> GroupReport:
    group = _group(session, caller, group_id)
    start, end = _month_bounds(session, caller, month)
    rows = repository.sum_rollups(
        session,
        GroupMonthRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[GroupMonthRollup.model_used, GroupMonthRollup.model_requested],
        where=[GroupMonthRollup.group_id == group.id],
    )
    totals: dict[str, int] = {}
    by_model: dict[str, dict[str, int]] = {}
    for row in rows:
        c = counters(row)
        merge(totals, c)
        merge(by_model.setdefault(_model_name(row.model_used, row.model_requested), {}), c)
    cost = totals.get("cost_nanos", 0)
    ranked = sorted(by_model.items(), key=lambda item: (-item[1]["cost_nanos"], -item[1]["requests"], item[0]))
    return GroupReport(
        month=month_key(start),
        group_id=group.id,
        name=group.name,
        totals=efficiency(totals),
        models=[breakdown(name, c, cost) for name, c in ranked[:top]],
        features=[
            FeatureUse(
                feature=f,
                requests=totals.get(f, 0),
                share_of_requests=share(totals.get(f, 0), totals.get("requests", 0)) or "0.0000",
            )
            for f in FEATURE_COUNTERS
        ],
    )


# --- one user ---------------------------------------------------------------------------------


def user_report(session: Session, caller: Caller, user_id: str, *, month: date | None = None) -> UserReport:
    person = repository.user(session, org_id=caller.org_id, user_id=user_id)
    if person is None:
        raise NotFound(f"user {user_id} not found")
    direct = [m.group_id for m in repository.memberships(session, org_id=caller.org_id) if m.user_id == user_id]
    if not caller.scope.can_read_user(user_id, direct):
        raise Forbidden("Reading this user's spend needs the org admin role or admin of one of their groups")
    start, end = _month_bounds(session, caller, month)
    rows = repository.sum_rollups(
        session,
        UserMonthRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[UserMonthRollup.group_id, UserMonthRollup.model_used, UserMonthRollup.model_requested],
        where=[UserMonthRollup.user_id == user_id],
    )
    names = {g.id: g.name for g in repository.groups(session, org_id=caller.org_id)}
    totals: dict[str, int] = {}
    by_group: dict[str, dict[str, int]] = {}
    by_model: dict[str, dict[str, int]] = {}
    for row in rows:
        c = counters(row)
        merge(totals, c)
        label = names.get(row.group_id, row.group_id) if row.group_id else "(personal keys)"
        merge(by_group.setdefault(label, {}), c)
        merge(by_model.setdefault(_model_name(row.model_used, row.model_requested), {}), c)
    cost = totals.get("cost_nanos", 0)
    return UserReport(
        month=month_key(start),
        user_id=person.id,
        email=person.email,
        totals=efficiency(totals),
        groups=[breakdown(n, c, cost) for n, c in _ranked(by_group)],
        models=[breakdown(n, c, cost) for n, c in _ranked(by_model)],
    )


def _ranked(items: dict[str, dict[str, int]]) -> Iterable[tuple[str, dict[str, int]]]:
    return sorted(items.items(), key=lambda item: (-item[1]["cost_nanos"], item[0]))


# --- cost allocation --------------------------------------------------------------------------


def allocation(session: Session, caller: Caller, *, month: date | None = None) -> AllocationReport:
    caller.require_org_admin("Cost allocation")
    start, end = _month_bounds(session, caller, month)
    all_groups = {g.id: g for g in repository.groups(session, org_id=caller.org_id)}
    parent_of = {gid: g.parent_id for gid, g in all_groups.items()}
    own = repository.sum_rollups(
        session,
        GroupMonthRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[GroupMonthRollup.group_id],
        where=[repository.own_rows(GroupMonthRollup)],
        counters=("requests", "cost_nanos"),
    )
    personal = repository.sum_rollups(
        session,
        UserMonthRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[UserMonthRollup.user_id],
        where=[UserMonthRollup.group_id == ""],
        counters=("requests", "cost_nanos"),
    )
    emails = {u.id: u.label for u in repository.users(session, org_id=caller.org_id, user_ids=[r[0] for r in personal])}

    def path(gid: str) -> str:
        return " / ".join(all_groups[g].name for g in reversed(tree.chain(parent_of, gid)))

    lines: list[AllocationLine] = []
    top_totals: dict[str, int] = {}
    org_total = unassigned = 0
    for gid, reqs, cost in own:
        cost, reqs = int(cost), int(reqs)
        org_total += cost
        if not gid:
            continue  # personal keys: allocated per user below
        if gid in all_groups:
            top = tree.chain(parent_of, gid)[-1]
            top_totals[top] = top_totals.get(top, 0) + cost
            line = AllocationLine(
                kind="group",
                top_group_id=top,
                top_group=all_groups[top].name,
                group_id=gid,
                path=path(gid),
                user_id=None,
                email=None,
                requests=reqs,
                spend=nanos_to_text(cost),
                spend_nanos=cost,
            )
        else:
            unassigned += cost
            line = AllocationLine(
                kind="unassigned",
                top_group_id=None,
                top_group=None,
                group_id=gid,
                path=None,
                user_id=None,
                email=None,
                requests=reqs,
                spend=nanos_to_text(cost),
                spend_nanos=cost,
            )
        lines.append(line)
    personal_total = 0
    for uid, reqs, cost in personal:
        personal_total += int(cost)
        lines.append(
            AllocationLine(
                kind="personal",
                top_group_id=None,
                top_group=None,
                group_id=None,
                path=None,
                user_id=uid,
                email=emails.get(uid),
                requests=int(reqs),
                spend=nanos_to_text(int(cost)),
                spend_nanos=int(cost),
            )
        )
    order = {"group": 0, "unassigned": 1, "personal": 2}
    lines.sort(key=lambda ln: (order[ln.kind], ln.top_group or "", ln.path or "", ln.email or "", ln.group_id or ""))
    tops = sorted(top_totals.items(), key=lambda item: all_groups[item[0]].name.lower())
    return AllocationReport(
        month=month_key(start),
        org_total=nanos_to_text(org_total),
        org_total_nanos=org_total,
        top_groups=[
            TopGroupTotal(group_id=gid, name=all_groups[gid].name, spend=nanos_to_text(c), spend_nanos=c)
            for gid, c in tops
        ],
        personal_total=nanos_to_text(personal_total),
        unassigned_total=nanos_to_text(unassigned),
        lines=lines,
    )
