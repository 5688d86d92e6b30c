"""The SQL of the control plane: the revision counter and its change journal, every row the plane
compiles (at start-up and for a repair), and the rows one change touched."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql
from sqlalchemy import Text, cast, delete, func, insert, select, update
from sqlalchemy.orm import Session

from covey.budgets import repository as budgets
from covey.budgets.lines import Line
from covey.models import (
    AccessList,
    ApiKey,
    Group,
    Membership,
    Organization,
    PlaneChange,
    Revision,
    RoutingPolicy,
    User,
    user_label,
)
from covey.models.access_list import MODALITIES
from covey.plane.compiler import GroupRow, KeyRow, ListRow, OrgRow, PolicyRow, UserRow, disabled, enabled, policy_of

_CHUNK = 500
_EMPTY_JSON = frozenset({"{}", "null", ""})
_NONE: frozenset[str] = frozenset()

# --- the revision and its journal -----------------------------------------------------------------


def current_revision(session: Session) -> int:
    return session.scalar(select(Revision.value).where(Revision.id == 1)) or 0


def bump_revision(session: Session) -> int:
    """Moves the counter and answers its new value. On PostgreSQL the row stays locked until commit,
    so revisions commit in order: a reader that sees revision N sees every change up to N."""
    # One statement that moves and reads the counter: the value read is the one this transaction wrote.
    bumped = update(Revision).where(Revision.id == 1).values(value=Revision.value + 1).returning(Revision.value)
    return int(session.execute(bumped).scalar_one())


def record_change(session: Session, *, revision: int, touched: dict[str, Any]) -> None:
    session.execute(insert(PlaneChange).values(revision=revision, touched=touched))


def notify(session: Session, *, channel: str, payload: str) -> None:
    """PostgreSQL delivers it when (and only if) the transaction commits."""
    session.execute(select(func.pg_notify(channel, payload)))


async def listen(conn: psycopg.AsyncConnection[Any], *, channel: str) -> None:
    """On a connection of its own (autocommit): the NOTIFYs the journal sends arrive on it."""
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


def changes_since(session: Session, revision: int) -> list[tuple[int, dict[str, Any]]]:
    rows = session.execute(
        select(PlaneChange.revision, PlaneChange.touched)
        .where(PlaneChange.revision > revision)
        .order_by(PlaneChange.revision)
    )
    return [(int(r), t or {}) for r, t in rows]


def prune_changes(session: Session, *, below: int) -> int:
    return session.execute(delete(PlaneChange).where(PlaneChange.revision < below)).rowcount or 0  # type: ignore[attr-defined]


# --- rows -----------------------------------------------------------------------------------------


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


_KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.org_id,
    ApiKey.key_hash,
    ApiKey.owner_id,
    ApiKey.group_id,
    ApiKey.completions,
    ApiKey.revoked_at.is_not(None),
    ApiKey.expires_at,
    ApiKey.access_list_id,
    cast(ApiKey.features, Text),  # decoded only when it holds something: most are {}
    ApiKey.logging,
    ApiKey.name,
    ApiKey.rate_limits,
    ApiKey.guardrails,
)


def _disabled(features: str | None) -> frozenset[str]:
    if features is None or features in _EMPTY_JSON:
        return _NONE
    return disabled(orjson.loads(features))


def _enabled(features: str | None) -> frozenset[str]:
    if features is None or features in _EMPTY_JSON:
        return _NONE
    return enabled(orjson.loads(features))


def _key(row: Any) -> KeyRow:
    (
        kid,
        oid,
        key_hash,
        owner,
        group,
        completions,
        revoked,
        expires_at,
        list_id,
        features,
        logging,
        name,
        limits,
        guards,
    ) = row
    return KeyRow(
        id=kid,
        org_id=oid,
        key_hash=key_hash,
        owner_id=owner,
        group_id=group,
        completions=completions,
        revoked=bool(revoked),
        expires_at=_epoch(expires_at),
        access_list_id=list_id,
        disabled=_disabled(features),
        enabled=_enabled(features),
        logging=bool(logging),
        name=name,
        rate_limits=limits,
        guardrails=guards,
    )


_USER_COLUMNS = (User.id, User.org_id, User.status, user_label(), User.rate_limits)


def _user(row: Any) -> UserRow:
    uid, oid, status, email, limits = row
    return UserRow(id=uid, org_id=oid, active=status == "active", email=email, rate_limits=limits)


_GROUP_COLUMNS = (
    Group.id,
    Group.org_id,
    Group.parent_id,
    Group.access_list_id,
    Group.features,
    Group.expires_at,
    Group.name,
    Group.rate_limits,
    Group.rate_limits_per_member,
    Group.guardrails,
)


def _group(row: Any) -> GroupRow:
    gid, oid, parent, list_id, features, expires_at, name, limits, per_member, guards = row
    return GroupRow(
        id=gid,
        org_id=oid,
        parent_id=parent,
        access_list_id=list_id,
        disabled=disabled(features),
        enabled=enabled(features),
        expires_at=_epoch(expires_at),
        name=name,
        rate_limits=limits,
        rate_limits_per_member=per_member,
        guardrails=guards,
    )


_ORG_COLUMNS = (
    Organization.id,
    Organization.approved_models,
    Organization.default_group_access_list_id,
    Organization.timezone,
    Organization.name,
    Organization.rate_limits,
    Organization.guardrails,
)


def _org(row: Any) -> OrgRow:
    oid, approved, default_list, tz, name, limits, guards = row
    return OrgRow(
        id=oid,
        approved_models=tuple(approved or ()),
        default_list_id=default_list,
        timezone=tz or "UTC",
        name=name,
        rate_limits=limits,
        guardrails=guards,
    )


_LIST_COLUMNS = (AccessList.id, AccessList.org_id, *(getattr(AccessList, m) for m in MODALITIES))


def _list(row: Any) -> ListRow:
    lid, oid, *modalities = row
    return ListRow(id=lid, org_id=oid, models=frozenset(m for models in modalities for m in models or ()))


_POLICY_COLUMNS = (
    RoutingPolicy.org_id,
    RoutingPolicy.name,
    RoutingPolicy.type,
    RoutingPolicy.targets,
    RoutingPolicy.description,
)


def _policy(row: Any) -> PolicyRow:
    oid, name, type_, targets, description = row
    return PolicyRow(
        org_id=oid, policy=policy_of(name=name, type_=type_, targets=targets or (), description=description)
    )


@dataclass
class Everything:
    """Every row the plane compiles, for a start-up or a repair."""

    orgs: list[OrgRow]
    lists: list[ListRow]
    groups: list[GroupRow]
    users: list[UserRow]
    memberships: list[tuple[str, str, int | None]]  # (user id, group id, the member's `rate_limit`)
    keys: list[KeyRow]
    policies: list[PolicyRow]
    lines: list[Line]


def everything(session: Session) -> Everything:
    # cross-org: every process serves every organization from one compiled plane.
    return Everything(
        orgs=[_org(r) for r in session.execute(select(*_ORG_COLUMNS))],
        lists=[_list(r) for r in session.execute(select(*_LIST_COLUMNS))],
        groups=[_group(r) for r in session.execute(select(*_GROUP_COLUMNS))],
        users=[_user(r) for r in session.execute(select(*_USER_COLUMNS))],
        memberships=[
            (u, g, r)
            for u, g, r in session.execute(select(Membership.user_id, Membership.group_id, Membership.rate_limit))
        ],
        keys=[_key(r) for r in session.execute(select(*_KEY_COLUMNS))],
        policies=[_policy(r) for r in session.execute(select(*_POLICY_COLUMNS))],
        lines=budgets.all_lines(session),
    )


@dataclass
class Rows:
    """The rows a change touched, as they are now; None (or absent from a `…_now` map) means deleted."""

    orgs: dict[str, OrgRow | None] = field(default_factory=dict)
    lists: dict[str, ListRow | None] = field(default_factory=dict)
    groups: dict[str, GroupRow | None] = field(default_factory=dict)
    users: dict[str, UserRow | None] = field(default_factory=dict)
    memberships: dict[str, tuple[str, ...]] = field(default_factory=dict)  # touched user → direct groups
    member_limits: dict[str, dict[str, int]] = field(default_factory=dict)  # touched user → group → `rate_limit`
    owned: dict[str, list[KeyRow]] = field(default_factory=dict)  # touched user → their keys
    keys: dict[str, KeyRow | None] = field(default_factory=dict)
    policies: dict[str, list[PolicyRow]] = field(default_factory=dict)  # touched org → its policies
    lines: dict[tuple[str, str], list[Line]] = field(default_factory=dict)  # touched owner → its lines


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), _CHUNK):
        yield ordered[i : i + _CHUNK]


def rows_for(
    session: Session,
    *,
    orgs: Collection[str] = (),
    lists: Collection[str] = (),
    groups: Collection[str] = (),
    users: Collection[str] = (),
    keys: Collection[str] = (),
    policies: Collection[str] = (),
    owners: Collection[tuple[str, str]] = (),
) -> Rows:
    # cross-org: the rows one change touched, by id, in whatever org they are.
    out = Rows()
    out.orgs = dict.fromkeys(orgs)
    for chunk in _chunks(orgs):
        for org_row in session.execute(select(*_ORG_COLUMNS).where(Organization.id.in_(chunk))):
            out.orgs[org_row[0]] = _org(org_row)
    out.lists = dict.fromkeys(lists)
    for chunk in _chunks(lists):
        for list_row in session.execute(select(*_LIST_COLUMNS).where(AccessList.id.in_(chunk))):
            out.lists[list_row[0]] = _list(list_row)
    out.groups = dict.fromkeys(groups)
    for chunk in _chunks(groups):
        for group_row in session.execute(select(*_GROUP_COLUMNS).where(Group.id.in_(chunk))):
            out.groups[group_row[0]] = _group(group_row)
    out.users = dict.fromkeys(users)
    direct: dict[str, list[str]] = defaultdict(list)
    member_limits: dict[str, dict[str, int]] = defaultdict(dict)
    owned: dict[str, list[KeyRow]] = defaultdict(list)
    for chunk in _chunks(users):
        for user_row in session.execute(select(*_USER_COLUMNS).where(User.id.in_(chunk))):
            out.users[user_row[0]] = _user(user_row)
        for uid, gid, limit in session.execute(
            select(Membership.user_id, Membership.group_id, Membership.rate_limit).where(Membership.user_id.in_(chunk))
        ):
            direct[uid].append(gid)
            if limit is not None:
                member_limits[uid][gid] = limit
        for owned_row in session.execute(select(*_KEY_COLUMNS).where(ApiKey.owner_id.in_(chunk))):
            owned[owned_row[3]].append(_key(owned_row))
    out.memberships = {u: tuple(direct.get(u, ())) for u in users}
    out.member_limits = {u: member_limits.get(u, {}) for u in users}
    out.owned = {u: owned.get(u, []) for u in users}
    out.keys = dict.fromkeys(keys)
    for chunk in _chunks(keys):
        for key_row in session.execute(select(*_KEY_COLUMNS).where(ApiKey.id.in_(chunk))):
            out.keys[key_row[0]] = _key(key_row)
    out.policies = {o: [] for o in policies}
    for chunk in _chunks(policies):
        for policy_row in session.execute(select(*_POLICY_COLUMNS).where(RoutingPolicy.org_id.in_(chunk))):
            out.policies[policy_row[0]].append(_policy(policy_row))
    out.lines = budgets.lines_of_owners(session, owners) if owners else {}
    return out
