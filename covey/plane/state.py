"""The compiled control plane of one process: what the hot path reads (grants by key hash, each org's
routing policies, the budget book) and the rows they were compiled from, indexed so that a change
recompiles only the grants it can affect:

- a key: that key; a user (their row, memberships or keys): that user's keys;
- a group: the keys in its subtree, and when it moved, appeared or went away, every key of every
  member of its subtree too (their effective groups changed);
- an access list: the keys that hold it and the keys under the groups that use it;
- an org (approved models, default list): the org's keys;
- a budget-line owner: that owner's lines in the book, nothing else.

Readers on other threads see each grant and each book entry swapped whole; lines are installed
before grants, so a key is never served with a book older than itself."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from covey.budgets.lines import Book, Line
from covey.gateway.access import Grant
from covey.plane.compiler import (
    Chain,
    GroupRow,
    KeyRow,
    ListRow,
    OrgRow,
    OrgView,
    Policy,
    UserRow,
    compile_chain,
    compile_grant,
    subtree,
)
from covey.plane.repository import Everything, Rows

# Grants compiled between two pauses: a pause lets the serving thread in, so a large change never
# stalls it for long (about a millisecond of work per slice).
SLICE = 256


def _no_pause() -> None:
    return None


def _grants_same(old: OrgRow | None, new: OrgRow | None) -> bool:
    """Whether a change of the org leaves its grants as they are (its cap or timezone: the book only)."""
    if old is None or new is None:
        return old is new
    return (old.approved_models, old.default_list_id, old.name, old.rate_limits, old.guardrails) == (
        new.approved_models,
        new.default_list_id,
        new.name,
        new.rate_limits,
        new.guardrails,
    )


@dataclass(frozen=True)
class Applied:
    revision: int
    recompiled: int  # grants compiled for this change


class Plane:
    def __init__(self, *, catalog: frozenset[str], revision: int = -1) -> None:
        self.catalog = catalog
        self.revision = revision
        # What the hot path reads.
        self.grants: dict[str, Grant] = {}  # key hash → grant
        self.policies: dict[str, dict[str, Policy]] = {}  # org id → name → policy
        self._lines: dict[tuple[str, str], tuple[Line, ...]] = {}
        self._timezones: dict[str, str] = {}
        self.book = Book(revision=revision, lines=self._lines, timezones=self._timezones)
        # What they are compiled from.
        self.orgs: dict[str, OrgRow] = {}
        self.lists: dict[str, ListRow] = {}
        self.groups: dict[str, GroupRow] = {}
        self.parent_of: dict[str, dict[str, str | None]] = defaultdict(dict)  # org → group → parent
        self.children: dict[str, set[str]] = defaultdict(set)
        self.users: dict[str, UserRow] = {}
        self.direct: dict[str, tuple[str, ...]] = {}  # user → the groups they are a direct member of
        self.members: dict[str, set[str]] = defaultdict(set)  # group → its direct members
        self.member_limits: dict[tuple[str, str], int] = {}  # (user, group) → the member's `rate_limit`
        self.keys: dict[str, KeyRow] = {}
        self.owner_keys: dict[str, set[str]] = defaultdict(set)
        self.group_keys: dict[str, set[str]] = defaultdict(set)  # the key's own group
        self.org_keys: dict[str, set[str]] = defaultdict(set)
        self.list_keys: dict[str, set[str]] = defaultdict(set)  # the key's own access list
        self._chains: dict[str, dict[tuple[str | None, str | None], Chain]] = defaultdict(dict)

    # ---- the whole plane ------------------------------------------------------------------------

    @classmethod
    def build(
        cls, rows: Everything, *, catalog: frozenset[str], revision: int, pause: Callable[[], None] = _no_pause
    ) -> Plane:
        plane = cls(catalog=catalog, revision=revision)
        for org in rows.orgs:
            plane.orgs[org.id] = org
            plane._timezones[org.id] = org.timezone
        for found in rows.lists:
            plane.lists[found.id] = found
        for group in rows.groups:
            plane._put_group(group)
        for user in rows.users:
            plane.users[user.id] = user
        direct: dict[str, list[str]] = defaultdict(list)
        for user_id, group_id, limit in rows.memberships:
            direct[user_id].append(group_id)
            plane.members[group_id].add(user_id)
            if limit is not None:
                plane.member_limits[(user_id, group_id)] = limit
        plane.direct = {u: tuple(g) for u, g in direct.items()}
        for key in rows.keys:
            plane._put_key(key)
        for p in rows.policies:
            plane.policies.setdefault(p.org_id, {})[p.policy.name] = p.policy
        by_owner: dict[tuple[str, str], list[Line]] = defaultdict(list)
        for line in rows.lines:
            by_owner[(line.owner_type, line.owner_id)].append(line)
        for owner, lines in by_owner.items():
            plane._put_lines(owner, lines)
        plane._compile(plane.keys, pause)
        return plane

    # ---- one change -----------------------------------------------------------------------------

    def apply(self, rows: Rows, *, revision: int, pause: Callable[[], None] = _no_pause) -> Applied:
        for owner, lines in rows.lines.items():
            self._put_lines(owner, lines)
        affected: set[str] = set()
        for org_id, org in rows.orgs.items():
            old = self.orgs.get(org_id)
            if org is None:
                self.orgs.pop(org_id, None)
                self._timezones.pop(org_id, None)
            else:
                self.orgs[org_id] = org
                self._timezones[org_id] = org.timezone
            if _grants_same(old, org):  # the cap or the timezone: the book only
                continue
            self._chains.pop(org_id, None)
            affected |= self.org_keys.get(org_id, set())
        for list_id, found in rows.lists.items():
            affected |= self._list_changed(list_id, found)
        affected |= self._groups_changed(rows.groups)
        for user_id, user in rows.users.items():
            limits = rows.member_limits.get(user_id, {})
            affected |= self._user_changed(
                user_id, user, rows.memberships.get(user_id, ()), limits, rows.owned.get(user_id, [])
            )
        for key_id, key in rows.keys.items():
            if key is None:
                self._drop_key(key_id)
            else:
                self._put_key(key)
            affected.add(key_id)
        for org_id, policies in rows.policies.items():
            if policies:
                self.policies[org_id] = {p.policy.name: p.policy for p in policies}
            else:
                self.policies.pop(org_id, None)
        self._compile(affected, pause)
        self.revision = revision
        return Applied(revision=revision, recompiled=len(affected))

    def _list_changed(self, list_id: str, found: ListRow | None) -> set[str]:
        old = self.lists.get(list_id)
        if found is None:
            self.lists.pop(list_id, None)
        else:
            self.lists[list_id] = found
        if old == found:
            return set()
        before = found or old
        if before is None:
            return set()
        org_id = before.org_id
        self._chains.pop(org_id, None)
        org = self.orgs.get(org_id)
        default = org.default_list_id if org is not None else None
        using = [g for g in self.parent_of.get(org_id, {}) if (self.groups[g].access_list_id or default) == list_id]
        under: set[str] = set()
        for group_id in using:
            under |= subtree(self.children, group_id)
        return self.list_keys.get(list_id, set()) | self._keys_under(under)

    def _groups_changed(self, changed: dict[str, GroupRow | None]) -> set[str]:
        # A change to a group's name or budgets reaches the book only.
        changed = {g: row for g, row in changed.items() if self.groups.get(g) != row}
        affected: set[str] = set()
        moved: set[str] = set()  # appeared, went away or changed parent: members' effective groups change
        # Read the old tree before anything moves.
        for group_id, group in changed.items():
            old = self.groups.get(group_id)
            org_id = group.org_id if group is not None else old.org_id  # type: ignore[union-attr]
            self._chains.pop(org_id, None)
            under = subtree(self.children, group_id) if old is not None else {group_id}
            affected |= self._keys_under(under)
            if old is None or group is None or old.parent_id != group.parent_id:
                moved.add(group_id)
                affected |= self._keys_of_members(under)
        for group in changed.values():
            if group is not None:
                self._put_group(group)
        for group_id, group in changed.items():
            if group is None:
                self._drop_group(group_id)
        # And the new one: a group that moved took its subtree along.
        for group_id, group in changed.items():
            if group is not None:
                under = subtree(self.children, group_id)
                affected |= self._keys_under(under)
                if group_id in moved:
                    affected |= self._keys_of_members(under)
        return affected

    def _user_changed(
        self,
        user_id: str,
        user: UserRow | None,
        direct: tuple[str, ...],
        limits: dict[str, int],
        owned: list[KeyRow],
    ) -> set[str]:
        if user is None:
            self.users.pop(user_id, None)
        else:
            self.users[user_id] = user
        for group_id in set(self.direct.get(user_id, ())) - set(direct):
            self.members[group_id].discard(user_id)
            self.member_limits.pop((user_id, group_id), None)
        for group_id in direct:
            if group_id in limits:
                self.member_limits[(user_id, group_id)] = limits[group_id]
            else:
                self.member_limits.pop((user_id, group_id), None)
        for group_id in direct:
            self.members[group_id].add(user_id)
        if direct:
            self.direct[user_id] = direct
        else:
            self.direct.pop(user_id, None)
        now = {k.id for k in owned}
        affected = set(self.owner_keys.get(user_id, ())) | now
        for key_id in affected - now:
            self._drop_key(key_id)
        for key in owned:
            self._put_key(key)
        return affected

    # ---- rows and indexes -----------------------------------------------------------------------

    def _keys_under(self, groups: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for group_id in groups:
            out |= self.group_keys.get(group_id, set())
        return out

    def _keys_of_members(self, groups: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for group_id in groups:
            for user_id in self.members.get(group_id, ()):
                out |= self.owner_keys.get(user_id, set())
        return out

    def _put_group(self, group: GroupRow) -> None:
        old = self.groups.get(group.id)
        if old is not None and old.parent_id is not None:
            self.children[old.parent_id].discard(group.id)
        self.groups[group.id] = group
        self.parent_of[group.org_id][group.id] = group.parent_id
        if group.parent_id is not None:
            self.children[group.parent_id].add(group.id)

    def _drop_group(self, group_id: str) -> None:
        old = self.groups.pop(group_id, None)
        if old is None:
            return
        self.parent_of[old.org_id].pop(group_id, None)
        if old.parent_id is not None:
            self.children[old.parent_id].discard(group_id)
        self.children.pop(group_id, None)
        # Its memberships went with it.
        for user_id in self.members.pop(group_id, set()):
            self.member_limits.pop((user_id, group_id), None)
            kept = tuple(g for g in self.direct.get(user_id, ()) if g != group_id)
            if kept:
                self.direct[user_id] = kept
            else:
                self.direct.pop(user_id, None)

    def _put_key(self, key: KeyRow) -> None:
        old = self.keys.get(key.id)
        if old is not None:
            self._unindex(old)
            if old.key_hash != key.key_hash:
                self.grants.pop(old.key_hash, None)
        self.keys[key.id] = key
        self.owner_keys[key.owner_id].add(key.id)
        self.org_keys[key.org_id].add(key.id)
        if key.group_id is not None:
            self.group_keys[key.group_id].add(key.id)
        if key.access_list_id is not None:
            self.list_keys[key.access_list_id].add(key.id)

    def _drop_key(self, key_id: str) -> None:
        old = self.keys.pop(key_id, None)
        if old is not None:
            self._unindex(old)
            self.grants.pop(old.key_hash, None)

    def _unindex(self, key: KeyRow) -> None:
        self.owner_keys[key.owner_id].discard(key.id)
        self.org_keys[key.org_id].discard(key.id)
        if key.group_id is not None:
            self.group_keys[key.group_id].discard(key.id)
        if key.access_list_id is not None:
            self.list_keys[key.access_list_id].discard(key.id)

    def _put_lines(self, owner: tuple[str, str], lines: Iterable[Line]) -> None:
        kept = tuple(line for line in lines if line.amount > 0)  # 0 = unlimited: no line at all
        if kept:
            self._lines[owner] = kept
        else:
            self._lines.pop(owner, None)

    # ---- compiling ------------------------------------------------------------------------------

    def _compile(self, key_ids: Iterable[str], pause: Callable[[], None]) -> None:
        for i, key_id in enumerate(list(key_ids), 1):
            self._compile_key(key_id)
            if i % SLICE == 0:
                pause()

    def _compile_key(self, key_id: str) -> None:
        key = self.keys.get(key_id)
        if key is None:
            return
        owner = self.users.get(key.owner_id)
        org = self.orgs.get(key.org_id)
        if owner is None or org is None:
            self.grants.pop(key.key_hash, None)
            return
        parent_of = self.parent_of[key.org_id]
        self.grants[key.key_hash] = compile_grant(
            key,
            owner=owner,
            owner_groups=self.direct.get(owner.id, ()),
            member_limits=self.member_limits,
            org=org,
            chain=self._chain(org, key.group_id, key.access_list_id),
            parent_of=parent_of,
        )

    def _chain(self, org: OrgRow, group_id: str | None, list_id: str | None) -> Chain:
        memo = self._chains[org.id]
        found = memo.get((group_id, list_id))
        if found is None:
            view = OrgView(org=org, parent_of=self.parent_of[org.id], groups=self.groups, lists=self.lists)
            found = memo[(group_id, list_id)] = compile_chain(
                view, catalog=self.catalog, group_id=group_id, key_list_id=list_id
            )
        return found
