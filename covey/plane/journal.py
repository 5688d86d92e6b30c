"""The writer's side of the control plane: every transaction that changes what gateways compile names
what it touched, and commits that list with its revision bump.

Nothing has to remember to call this: the ORM's unit of work says which keys, users, memberships,
groups, lists, orgs, policies and budget lines a transaction inserted, changed or deleted, and bulk
statements on those tables either say what they touched (`touch` and the `PLANE_NOTED` execution
option) or make every gateway rebuild in full. On PostgreSQL the same transaction sends a NOTIFY,
so every replica hears of a commit whoever made it (a server, the command line, a script)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from covey.models import AccessList, ApiKey, BudgetLine, Group, Membership, Organization, RoutingPolicy, User
from covey.plane import repository

CHANNEL = "covey_plane"
# Execution option for a bulk statement whose caller named what it touched with `touch`.
PLANE_NOTED = "covey_plane_noted"
# The revision a session's last commit wrote (read by the committing process's plane, then dropped).
COMMITTED = "covey.plane.committed"
_TOUCHED = "covey.plane.touched"
_NOTED = "covey.plane.noted"
_TABLES = {
    m.__tablename__ for m in (AccessList, ApiKey, BudgetLine, Group, Membership, Organization, RoutingPolicy, User)
}
# Columns no grant, list or book line is compiled from: changing only these touches nothing.
_IGNORED = frozenset({"last_used_at", "updated_at", "created_at", "password_hash", "labels", "description"})


@dataclass
class Touched:
    keys: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)  # the user row, their memberships and their keys
    groups: set[str] = field(default_factory=set)  # the group row (its subtree's keys follow)
    lists: set[str] = field(default_factory=set)
    orgs: set[str] = field(default_factory=set)
    policies: set[str] = field(default_factory=set)  # org ids whose routing policies changed
    owners: set[tuple[str, str]] = field(default_factory=set)  # budget-line owners (type, id)
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or any(
            (self.keys, self.users, self.groups, self.lists, self.orgs, self.policies, self.owners)
        )

    def merge(self, other: Touched) -> None:
        self.keys |= other.keys
        self.users |= other.users
        self.groups |= other.groups
        self.lists |= other.lists
        self.orgs |= other.orgs
        self.policies |= other.policies
        self.owners |= other.owners
        self.everything = self.everything or other.everything

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: sorted(values)
            for name, values in (
                ("keys", self.keys),
                ("users", self.users),
                ("groups", self.groups),
                ("lists", self.lists),
                ("orgs", self.orgs),
                ("policies", self.policies),
            )
            if values
        }
        if self.owners:
            out["owners"] = sorted([t, i] for t, i in self.owners)
        if self.everything:
            out["everything"] = True
        return out

    @classmethod
    def of(cls, data: dict[str, Any]) -> Touched:
        return cls(
            keys=set(data.get("keys", ())),
            users=set(data.get("users", ())),
            groups=set(data.get("groups", ())),
            lists=set(data.get("lists", ())),
            orgs=set(data.get("orgs", ())),
            policies=set(data.get("policies", ())),
            owners={(str(t), str(i)) for t, i in data.get("owners", ())},
            everything=bool(data.get("everything", False)),
        )


def touched(session: Session) -> Touched:
    found: Touched | None = session.info.get(_TOUCHED)
    if found is None:
        found = session.info[_TOUCHED] = Touched()
    return found


def touch(
    session: Session,
    *,
    keys: Iterable[str] = (),
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    lists: Iterable[str] = (),
) -> None:
    """For bulk statements the unit of work does not see (run them with `PLANE_NOTED`)."""
    t = touched(session)
    t.keys.update(keys)
    t.users.update(users)
    t.groups.update(groups)
    t.lists.update(lists)


def note(session: Session) -> None:
    """This transaction moves the revision even if it touches nothing compiled (every audited change)."""
    session.info[_NOTED] = True


def _changed(obj: Any) -> bool:
    state = inspect(obj)
    return any(
        attr.key not in _IGNORED and attr.history.has_changes() for attr in state.attrs if attr.key in state.dict
    )


def _record(t: Touched, obj: Any) -> None:
    if isinstance(obj, ApiKey):
        t.keys.add(obj.id)
    elif isinstance(obj, User):
        t.users.add(obj.id)
    elif isinstance(obj, Membership):
        t.users.add(obj.user_id)
    elif isinstance(obj, Group):
        t.groups.add(obj.id)
    elif isinstance(obj, AccessList):
        t.lists.add(obj.id)
    elif isinstance(obj, Organization):
        t.orgs.add(obj.id)
    elif isinstance(obj, RoutingPolicy):
        t.policies.add(obj.org_id)
    elif isinstance(obj, BudgetLine):
        t.owners.add((obj.owner_type, obj.owner_id))
        for old in inspect(obj).attrs.owner_id.history.deleted or ():
            t.owners.add((obj.owner_type, old))


_KINDS = (AccessList, ApiKey, BudgetLine, Group, Membership, Organization, RoutingPolicy, User)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    # After the flush, ids given by defaults are set, and new/dirty/deleted still hold what was flushed.
    found = [o for o in (*session.new, *session.deleted) if isinstance(o, _KINDS)]
    found += [o for o in session.dirty if isinstance(o, _KINDS) and _changed(o)]
    if found:
        t = touched(session)
        for obj in found:
            _record(t, obj)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(PLANE_NOTED):
        return
    table: Any = getattr(state.statement, "table", None)
    if table is None or table.name not in _TABLES:
        return
    if state.is_update and _sets_only_ignored(state.statement):
        return
    touched(state.session).everything = True  # rows unknown: every gateway rebuilds


def _sets_only_ignored(statement: Any) -> bool:
    values = getattr(statement, "_values", None) or {}
    names = {getattr(column, "key", column) for column in values}
    return bool(names) and names <= _IGNORED


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    session.flush()  # what is still pending is collected too
    t: Touched | None = session.info.pop(_TOUCHED, None)
    noted = session.info.pop(_NOTED, False)
    if not t and not noted:
        return
    revision = repository.bump_revision(session)
    repository.record_change(session, revision=revision, touched=(t or Touched()).as_json())
    if session.get_bind().dialect.name == "postgresql":
        repository.notify(session, channel=CHANNEL, payload=str(revision))
    session.info[COMMITTED] = revision


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one: a rolled-back savepoint keeps what it named
        session.info.pop(_TOUCHED, None)
        session.info.pop(_NOTED, None)
