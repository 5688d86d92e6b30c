"""SQL for budgets: the lines (Requesty's monthly columns and the `budget_lines` table), and spend
recomputed from the usage records (to seed counters at start, and for `covey doctor`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete as sql_delete
from sqlalchemy import false, func, select, text
from sqlalchemy.orm import Session, aliased

from covey.budgets.lines import Line, member_scope
from covey.models import ApiKey, BudgetLine, Group, Organization, UsageCharge, UsageRecord, User, in_org, user_label


def owner(
    session: Session, *, org_id: str, owner_type: str, owner_id: str
) -> Organization | ApiKey | User | Group | None:
    """The object a line belongs to, in this org only (`member` lines belong to their group)."""
    if owner_type == "org":
        return session.scalar(select(Organization).where(Organization.id == org_id))
    if owner_type == "key":
        return session.scalar(in_org(ApiKey, org_id).where(ApiKey.id == owner_id))
    if owner_type == "user":
        return session.scalar(in_org(User, org_id).where(User.id == owner_id))
    return session.scalar(in_org(Group, org_id).where(Group.id == owner_id))


def keys(session: Session, *, org_id: str) -> Sequence[ApiKey]:
    return session.scalars(in_org(ApiKey, org_id)).all()


def column_lines(session: Session, *, org_id: str | None = None) -> list[Line]:
    """Requesty's fields as hard monthly lines: a key's and a user's `monthly_limit`, a group's
    `monthly_budget` (subtree) and `monthly_budget_per_user`, the org's `monthly_cap`."""
    # cross-org: without `org_id`, every organization's lines, for the budget book.
    out: list[Line] = []
    orgs = select(Organization.id, Organization.name, Organization.monthly_cap).where(
        Organization.monthly_cap.is_not(None)
    )
    keys = select(ApiKey.id, ApiKey.org_id, ApiKey.name, ApiKey.monthly_limit).where(ApiKey.monthly_limit.is_not(None))
    users = select(User.id, User.org_id, user_label(), User.monthly_limit).where(User.monthly_limit.is_not(None))
    groups = select(Group.id, Group.org_id, Group.name, Group.monthly_budget, Group.monthly_budget_per_user)
    if org_id:
        orgs = orgs.where(Organization.id == org_id)
        keys = keys.where(ApiKey.org_id == org_id)
        users = users.where(User.org_id == org_id)
        groups = groups.where(Group.org_id == org_id)
    for oid, name, cap in session.execute(orgs):
        out += _org_lines(oid, name, cap)
    for kid, oid, name, limit in session.execute(keys):
        out += _limit_lines("key", kid, oid, name, limit)
    for uid, oid, email, limit in session.execute(users):
        out += _limit_lines("user", uid, oid, email, limit)
    for gid, oid, name, budget, per_user in session.execute(groups):
        out += _group_lines(gid, oid, name, budget, per_user)
    return out


def _org_lines(oid: str, name: str, cap: int | None) -> list[Line]:
    return [Line(id=f"org:{oid}:monthly_cap", org_id=oid, owner_type="org", owner_id=oid, amount=cap or 0, name=name)]


def _limit_lines(owner_type: str, owner_id: str, org_id: str, name: str, limit: int | None) -> list[Line]:
    if limit is None:
        return []
    return [
        Line(
            id=f"{owner_type}:{owner_id}:monthly_limit",
            org_id=org_id,
            owner_type=owner_type,
            owner_id=owner_id,
            amount=limit,
            name=name,
        )
    ]


def _group_lines(gid: str, oid: str, name: str, budget: int | None, per_user: int | None) -> list[Line]:
    out = []
    if budget:
        out.append(
            Line(
                id=f"group:{gid}:monthly_budget", org_id=oid, owner_type="group", owner_id=gid, amount=budget, name=name
            )
        )
    if per_user:
        out.append(
            Line(
                id=f"member:{gid}:monthly_budget_per_user",
                org_id=oid,
                owner_type="member",
                owner_id=gid,
                amount=per_user,
                name=name,
            )
        )
    return out


def lines_of_owners(session: Session, owners: Collection[tuple[str, str]]) -> dict[tuple[str, str], list[Line]]:
    """Every line of these owners (column and table lines), by owner; an owner without lines maps to []."""
    # cross-org: the control plane reloads the owners a change touched, in whatever org they are.
    ids: dict[str, set[str]] = {"key": set(), "user": set(), "group": set(), "org": set()}
    for owner_type, owner_id in owners:
        ids["group" if owner_type == "member" else owner_type].add(owner_id)
    out: dict[tuple[str, str], list[Line]] = {owner: [] for owner in owners}
    names: dict[tuple[str, str], str] = {}
    found: list[Line] = []
    for chunk in _chunks(ids["org"]):
        for oid, name, cap in session.execute(
            select(Organization.id, Organization.name, Organization.monthly_cap).where(Organization.id.in_(chunk))
        ):
            names[("org", oid)] = name
            found += _org_lines(oid, name, cap)
    for chunk in _chunks(ids["key"]):
        stmt = select(ApiKey.id, ApiKey.org_id, ApiKey.name, ApiKey.monthly_limit).where(ApiKey.id.in_(chunk))
        for kid, oid, name, limit in session.execute(stmt):
            names[("key", kid)] = name
            found += _limit_lines("key", kid, oid, name, limit)
    for chunk in _chunks(ids["user"]):
        stmt = select(User.id, User.org_id, user_label(), User.monthly_limit).where(User.id.in_(chunk))
        for uid, oid, email, limit in session.execute(stmt):
            names[("user", uid)] = email
            found += _limit_lines("user", uid, oid, email, limit)
    for chunk in _chunks(ids["group"]):
        budgets = select(Group.id, Group.org_id, Group.name, Group.monthly_budget, Group.monthly_budget_per_user)
        for gid, oid, name, budget, per_user in session.execute(budgets.where(Group.id.in_(chunk))):
            names[("group", gid)] = names[("member", gid)] = name
            found += _group_lines(gid, oid, name, budget, per_user)
    every_id = set().union(*ids.values())
    for chunk in _chunks(every_id):
        for row in session.scalars(select(BudgetLine).where(BudgetLine.owner_id.in_(chunk))):
            found.append(as_line(row, names))
    for line in found:
        owner = (line.owner_type, line.owner_id)
        if owner in out:
            out[owner].append(line)
    return out


def _chunks(ids: Collection[str], size: int = 500) -> list[list[str]]:
    ordered = sorted(ids)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def owner_names(session: Session, *, org_id: str | None = None) -> dict[tuple[str, str], str]:
    # cross-org: without `org_id`, every organization's names, for the budget book.
    groups = select(Group.id, Group.name)
    users = select(User.id, user_label())
    keys = select(ApiKey.id, ApiKey.name)
    orgs = select(Organization.id, Organization.name)
    if org_id:
        groups = groups.where(Group.org_id == org_id)
        users = users.where(User.org_id == org_id)
        keys = keys.where(ApiKey.org_id == org_id)
        orgs = orgs.where(Organization.id == org_id)
    names: dict[tuple[str, str], str] = {}
    for gid, name in session.execute(groups):
        names[("group", gid)] = names[("member", gid)] = name
    for uid, email in session.execute(users):
        names[("user", uid)] = email
    for kid, name in session.execute(keys):
        names[("key", kid)] = name
    for oid, name in session.execute(orgs):
        names[("org", oid)] = name
    return names


def as_line(row: BudgetLine, names: dict[tuple[str, str], str]) -> Line:
    return Line(
        id=row.id,
        org_id=row.org_id,
        owner_type=row.owner_type,
        owner_id=row.owner_id,
        amount=row.amount_nanos,
        period=row.period,
        enforcement=row.enforcement,
        thresholds=tuple(row.thresholds or ()),
        name=names.get((row.owner_type, row.owner_id), row.owner_id),
    )


def table_rows(session: Session, *, org_id: str | None = None) -> Sequence[BudgetLine]:
    # cross-org: without `org_id`, every organization's lines, for the budget book.
    stmt = in_org(BudgetLine, org_id) if org_id else select(BudgetLine)
    return session.scalars(stmt.order_by(BudgetLine.created_at, BudgetLine.id)).all()


def all_lines(session: Session, *, org_id: str | None = None) -> list[Line]:
    rows = table_rows(session, org_id=org_id)
    names = names_of(session, {(r.owner_type, r.owner_id) for r in rows})
    return [*column_lines(session, org_id=org_id), *(as_line(r, names) for r in rows)]


def names_of(session: Session, owners: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The names lines show for these owners only (a group's also serves its per-member line)."""
    # cross-org: owners named by id, as the table lines of every org (or of one) name them.
    ids: dict[str, set[str]] = {"key": set(), "user": set(), "group": set(), "org": set()}
    for owner_type, owner_id in owners:
        ids["group" if owner_type == "member" else owner_type].add(owner_id)
    names: dict[tuple[str, str], str] = {}
    for owner_type, column_id, column_name in (
        ("key", ApiKey.id, ApiKey.name),
        ("user", User.id, user_label()),
        ("group", Group.id, Group.name),
        ("org", Organization.id, Organization.name),
    ):
        for chunk in _chunks(ids[owner_type]):
            for oid, name in session.execute(select(column_id, column_name).where(column_id.in_(chunk))):
                names[(owner_type, oid)] = name
                if owner_type == "group":
                    names[("member", oid)] = name
    return names


def timezones(session: Session) -> dict[str, str]:
    return {oid: tz or "UTC" for oid, tz in session.execute(select(Organization.id, Organization.timezone))}


def get_row(session: Session, *, org_id: str, line_id: str) -> BudgetLine | None:
    row: BudgetLine | None = session.scalar(in_org(BudgetLine, org_id).where(BudgetLine.id == line_id))
    return row


def find_row(
    session: Session, *, org_id: str, owner_type: str, owner_id: str, period: str, enforcement: str
) -> BudgetLine | None:
    row: BudgetLine | None = session.scalar(
        in_org(BudgetLine, org_id).where(
            BudgetLine.owner_type == owner_type,
            BudgetLine.owner_id == owner_id,
            BudgetLine.period == period,
            BudgetLine.enforcement == enforcement,
        )
    )
    return row


def add(session: Session, row: BudgetLine) -> BudgetLine:
    session.add(row)
    session.flush()
    return row


def delete(session: Session, row: BudgetLine) -> None:
    session.delete(row)
    session.flush()


# --- spend from the usage records -----------------------------------------------------------------


def spend_by_scope(session: Session, *, org_id: str, start: datetime, end: datetime) -> dict[str, int]:
    """Spend in [start, end) per counter scope (`key:…`, `user:…`, `group:…`, `member:…:…`, `org:…`)."""
    window = (UsageRecord.created_at >= start, UsageRecord.created_at < end)
    out: dict[str, int] = {}
    cost = func.coalesce(func.sum(UsageRecord.cost_nanos), 0)
    by_key = in_org(UsageRecord, org_id, UsageRecord.key_id, cost).where(*window).group_by(UsageRecord.key_id)
    for kid, total in session.execute(by_key):
        out[f"key:{kid}"] = int(total)
    by_user = in_org(UsageRecord, org_id, UsageRecord.user_id, cost).where(*window).group_by(UsageRecord.user_id)
    for uid, total in session.execute(by_user):
        out[f"user:{uid}"] = int(total)
    org_total = session.scalar(in_org(UsageRecord, org_id, cost).where(*window))
    out[f"org:{org_id}"] = int(org_total or 0)
    charge_window = (UsageCharge.org_id == org_id, UsageCharge.created_at >= start, UsageCharge.created_at < end)
    charged = func.coalesce(func.sum(UsageCharge.cost_nanos), 0)
    by_group = select(UsageCharge.group_id, charged).where(*charge_window)
    for gid, total in session.execute(by_group.group_by(UsageCharge.group_id)):
        out[f"group:{gid}"] = int(total)
    members = (
        in_org(UsageRecord, org_id, UsageCharge.group_id, UsageRecord.user_id, charged)
        .join_from(UsageCharge, UsageRecord, UsageRecord.id == UsageCharge.usage_id)
        .where(*charge_window)
        .group_by(UsageCharge.group_id, UsageRecord.user_id)
    )
    for gid, uid, total in session.execute(members):
        out[member_scope(gid, uid)] = int(total)
    return out


def org_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Organization.id)))


def top_level_and_personal(session: Session, *, org_id: str, start: datetime, end: datetime) -> tuple[int, int]:
    """For docs/design.md §3's invariant: Σ spend of charges on top-level groups, and Σ spend of personal keys
    (records charging no group)."""
    # Each record's chain ends at a top-level group: the charge with the greatest depth.
    chain = aliased(UsageCharge)
    deepest = select(func.max(chain.depth)).where(chain.usage_id == UsageCharge.usage_id).scalar_subquery()
    top = session.scalar(
        select(func.coalesce(func.sum(UsageCharge.cost_nanos), 0)).where(
            UsageCharge.org_id == org_id,
            UsageCharge.created_at >= start,
            UsageCharge.created_at < end,
            UsageCharge.depth == deepest,
        )
    )
    personal = session.scalar(
        select(func.coalesce(func.sum(UsageRecord.cost_nanos), 0)).where(
            UsageRecord.org_id == org_id,
            UsageRecord.created_at >= start,
            UsageRecord.created_at < end,
            UsageRecord.group_id.is_(None),
        )
    )
    return int(top or 0), int(personal or 0)


def lock_usage(session: Session) -> None:
    """Until `session`'s transaction ends, no usage record is written (writers wait for it) and none is
    being written: what it reads next is every record committed, and only those."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE usage_records IN SHARE MODE"))
    else:  # SQLite has one writer at a time: taking the write lock is the same
        session.execute(sql_delete(UsageRecord).where(false()))
