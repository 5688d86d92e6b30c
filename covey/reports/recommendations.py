"""Usage-based recommendations, each with the figures behind it.

- `inactive_member`: a member of a group for over 60 days with no request in the last 60 (access review);
- `no_group`: an active user in no group;
- `over_budget`: a group whose month-to-date spend, projected to month end, passes its monthly budget;
- `model_dropped`: a group whose requests of the last 30 days mostly (≥ 50%) went to a model its
  current access (org approval list ∩ the access lists on its chain) no longer allows — the next
  request for it will be refused;
- `better_group`: a user whose model mix over the last 30 days (spend per model) is closer, by cosine
  similarity, to another group's than to any of their own groups' (by at least 0.2, and at least 0.8).

Messages name a group by its path ("Engineering › Backend"): names repeat under different parents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.budgets.periods import add_months, local_day, month_key, month_of, project_to_month_end
from covey.gateway.access import matches
from covey.groups import tree
from covey.kit.clock import utcnow
from covey.kit.money import nanos_to_text
from covey.models import Group
from covey.reports import repository
from covey.reports.figures import share
from covey.reports.schemas import Recommendation, Recommendations
from covey.reports.service import org_zone
from covey.reports.tables import GroupMonthRollup, GroupRollup, UsageRollup

INACTIVE_DAYS = 60
RECENT_DAYS = 30
MOSTLY = 0.5
SIMILAR = 0.8
MARGIN = 0.2


def recommend(session: Session, caller: Caller, *, now: datetime | None = None) -> Recommendations:
    now = now or utcnow()
    groups = {g.id: g for g in repository.groups(session, org_id=caller.org_id)}
    parent_of = {gid: g.parent_id for gid, g in groups.items()}
    names = {gid: g.name for gid, g in groups.items()}
    paths = {gid: tree.path(parent_of, names, gid) for gid in groups}
    seen = caller.scope.managed_groups
    shown = set(groups) if seen is None else set(seen) & set(groups)
    out: list[Recommendation] = []
    out += _inactive_members(session, caller, paths, shown, now)
    if seen is None:
        out += _users_in_no_group(session, caller)
    out += _over_budget(session, caller, groups, paths, shown, now)
    out += _dropped_models(session, caller, groups, paths, shown, now)
    out += _better_groups(session, caller, groups, paths, shown, now)
    return Recommendations(recommendations=out)


def people(session: Session, caller: Caller, found: Recommendations) -> dict[str, str]:
    """How the people the recommendations are about are named (`User.label`), by id: only those, whom
    the caller already reads about in the messages."""
    ids = {r.user_id for r in found.recommendations if r.user_id}
    if not ids:
        return {}
    return {u.id: u.label for u in repository.users(session, org_id=caller.org_id, user_ids=ids)}


def _inactive_members(
    session: Session, caller: Caller, paths: Mapping[str, str], shown: set[str], now: datetime
) -> list[Recommendation]:
    today = local_day(now, org_zone(session, caller))
    since = today - timedelta(days=INACTIVE_DAYS)
    recent = repository.last_active_days(session, org_id=caller.org_id, since=since)
    last_month = repository.last_active_months(session, org_id=caller.org_id)
    cutoff = now - timedelta(days=INACTIVE_DAYS)
    users = {u.id: u for u in repository.users(session, org_id=caller.org_id)}
    out = []
    for m in repository.memberships(session, org_id=caller.org_id):
        person = users.get(m.user_id)
        if m.group_id not in shown or person is None or not person.active or m.added_at > cutoff:
            continue
        if m.user_id in recent:
            continue
        active = last_month.get(m.user_id)
        out.append(
            Recommendation(
                kind="inactive_member",
                message=f'{person.label} has made no request in {INACTIVE_DAYS} days: review their membership of "'
                f'{paths[m.group_id]}"',
                group_id=m.group_id,
                user_id=m.user_id,
                figures={
                    "last_active_month": month_key(active) if active else None,
                    "member_since": m.added_at.date().isoformat(),
                    "role": m.role,
                    "inactive_days_at_least": INACTIVE_DAYS,
                },
            )
        )
    return out


def _users_in_no_group(session: Session, caller: Caller) -> list[Recommendation]:
    members = {m.user_id for m in repository.memberships(session, org_id=caller.org_id)}
    return [
        Recommendation(
            kind="no_group",
            message=f"{u.label} belongs to no group: their spend is not governed by any group budget or access list",
            user_id=u.id,
            figures={"role": u.role, "created_at": u.created_at.date().isoformat()},
        )
        for u in repository.users(session, org_id=caller.org_id)
        if u.active and u.id not in members
    ]


def _over_budget(
    session: Session,
    caller: Caller,
    groups: Mapping[str, Group],
    paths: Mapping[str, str],
    shown: set[str],
    now: datetime,
) -> list[Recommendation]:
    tz = org_zone(session, caller)
    month = month_of(now, tz)
    budgeted = [gid for gid in shown if groups[gid].monthly_budget]
    if not budgeted:
        return []
    rows = repository.sum_rollups(
        session,
        GroupMonthRollup,
        org_id=caller.org_id,
        start=month,
        end=add_months(month, 1),
        by=[GroupMonthRollup.group_id],
        where=[GroupMonthRollup.group_id.in_(budgeted)],
        counters=("cost_nanos",),
    )
    out = []
    for gid, cost in rows:
        budget = groups[gid].monthly_budget or 0
        projected = project_to_month_end(int(cost), month, now, tz)
        if projected > budget:
            out.append(
                Recommendation(
                    kind="over_budget",
                    message=f'Group "{paths[gid]}" is projected to spend ${nanos_to_text(projected)} this month, '
                    f"over its budget of ${nanos_to_text(budget)}",
                    group_id=gid,
                    figures={
                        "month_to_date": nanos_to_text(int(cost)),
                        "projected": nanos_to_text(projected),
                        "monthly_budget": nanos_to_text(budget),
                        "projected_share_of_budget": share(projected, budget),
                    },
                )
            )
    return out


def _allowed(model: str, patterns_chain: list[list[str] | None]) -> bool:
    return all(patterns is None or any(matches(p, model) for p in patterns) for patterns in patterns_chain)


def _dropped_models(
    session: Session,
    caller: Caller,
    groups: Mapping[str, Group],
    paths: Mapping[str, str],
    shown: set[str],
    now: datetime,
) -> list[Recommendation]:
    today = local_day(now, org_zone(session, caller))
    rows = repository.sum_rollups(
        session,
        GroupRollup,
        org_id=caller.org_id,
        start=today - timedelta(days=RECENT_DAYS),
        end=today + timedelta(days=1),
        by=[GroupRollup.group_id, GroupRollup.model_used],
        where=[repository.own_rows(), GroupRollup.group_id.in_(list(shown)), GroupRollup.model_used != ""],
        counters=("requests",),
    )
    used: dict[str, dict[str, int]] = {}
    for gid, model, reqs in rows:
        used.setdefault(gid, {})[model] = int(reqs)
    lists = repository.access_lists(session, org_id=caller.org_id)
    approved = repository.approved_models(session, org_id=caller.org_id)
    parent_of = {gid: g.parent_id for gid, g in groups.items()}
    out = []
    for gid, models in used.items():
        chain: list[list[str] | None] = [approved or None]
        for g in tree.chain(parent_of, gid):
            found = lists.get(groups[g].access_list_id or "")
            chain.append(sorted(found.models()) if found is not None else None)
        total = sum(models.values())
        for model, reqs in sorted(models.items()):
            if reqs / total < MOSTLY or _allowed(model, chain):
                continue
            out.append(
                Recommendation(
                    kind="model_dropped",
                    message=f'Most requests through group "{paths[gid]}" in the last {RECENT_DAYS} days used '
                    f"{model}, which its access list no longer allows: tell its members or allow it again",
                    group_id=gid,
                    figures={"model": model, "requests": reqs, "group_requests": total, "share": share(reqs, total)},
                )
            )
    return out


def _cosine(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    dot = sum(a[k] * b.get(k, 0) for k in a)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _better_groups(
    session: Session,
    caller: Caller,
    groups: Mapping[str, Group],
    paths: Mapping[str, str],
    shown: set[str],
    now: datetime,
) -> list[Recommendation]:
    today = local_day(now, org_zone(session, caller))
    start, end = today - timedelta(days=RECENT_DAYS), today + timedelta(days=1)
    group_rows = repository.sum_rollups(
        session,
        GroupRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[GroupRollup.group_id, GroupRollup.model_used],
        where=[repository.own_rows(), GroupRollup.group_id != "", GroupRollup.model_used != ""],
        counters=("cost_nanos",),
    )
    mix: dict[str, dict[str, int]] = {}
    for gid, model, cost in group_rows:
        if gid in groups and int(cost) > 0:
            mix.setdefault(gid, {})[model] = int(cost)
    user_rows = repository.sum_rollups(
        session,
        UsageRollup,
        org_id=caller.org_id,
        start=start,
        end=end,
        by=[UsageRollup.user_id, UsageRollup.model_used],
        where=[UsageRollup.model_used != ""],
        counters=("cost_nanos",),
    )
    user_mix: dict[str, dict[str, int]] = {}
    for uid, model, cost in user_rows:
        if int(cost) > 0:
            user_mix.setdefault(uid, {})[model] = int(cost)
    direct: dict[str, set[str]] = {}
    for m in repository.memberships(session, org_id=caller.org_id):
        direct.setdefault(m.user_id, set()).add(m.group_id)
    emails = {u.id: u.label for u in repository.users(session, org_id=caller.org_id, user_ids=list(user_mix))}
    parent_of = {gid: g.parent_id for gid, g in groups.items()}
    out = []
    for uid, vector in sorted(user_mix.items()):
        own = direct.get(uid, set())
        if not own or not (own & shown):
            continue
        effective = tree.effective_groups(parent_of, own)
        own_best = max((_cosine(vector, mix.get(g, {})) for g in own), default=0.0)
        candidates = [(round(_cosine(vector, m), 4), g) for g, m in mix.items() if g not in effective]
        if not candidates:
            continue
        best, other = max(candidates)
        if best >= SIMILAR and best - own_best >= MARGIN:
            out.append(
                Recommendation(
                    kind="better_group",
                    message=f'{emails.get(uid, uid)} uses models much like group "{paths[other]}" '
                    "and unlike their own groups: consider moving them",
                    group_id=other,
                    user_id=uid,
                    figures={
                        "similarity_to_suggested": best,
                        "best_similarity_to_own_groups": round(own_best, 4),
                        "user_spend_last_30_days": nanos_to_text(sum(vector.values())),
                    },
                )
            )
    return out
