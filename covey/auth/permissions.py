"""Who may do what (docs/design.md §2), as pure rules over a caller's scope.

- org `owner`/`admin`: everything in their org;
- group `admin`: members, keys and settings of their group and its subtree;
- `member`: their own profile and keys, and read access to the groups they belong to (and their ancestors).

Authority is never borrowed: a key made for someone else carries management rights only while its
creator `covers` its owner, and a limit someone set is loosened only by a caller who covers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TypeVar

from covey.groups import tree


@dataclass(frozen=True)
class Scope:
    user_id: str
    org_role: str
    memberships: Mapping[str, str]  # group id → role in that group
    parent_of: Mapping[str, str | None] = field(repr=False)

    @property
    def is_org_admin(self) -> bool:
        return self.org_role in ("owner", "admin")

    @property
    def is_owner(self) -> bool:
        return self.org_role == "owner"

    @cached_property
    def admin_groups(self) -> frozenset[str]:
        """Every group this caller administers: the groups they are `admin` of, with their subtrees."""
        kids = tree.children_map(self.parent_of)
        out: set[str] = set()
        for gid, role in self.memberships.items():
            if role == "admin" and gid in self.parent_of:
                out |= tree.descendants(self.parent_of, gid, children=kids)
        return frozenset(out)

    @property
    def managed_groups(self) -> frozenset[str] | None:
        """The groups whose people, keys and spend this caller manages; None means every one (org admins)."""
        return None if self.is_org_admin else self.admin_groups

    @cached_property
    def member_groups(self) -> frozenset[str]:
        """Effective groups: direct ones and their ancestors."""
        return frozenset(tree.effective_groups(self.parent_of, self.memberships))

    def can_read_group(self, group_id: str) -> bool:
        return self.is_org_admin or group_id in self.admin_groups or group_id in self.member_groups

    def can_manage_group(self, group_id: str) -> bool:
        return self.is_org_admin or group_id in self.admin_groups

    def can_manage_under(self, group_id: str | None) -> bool:
        """Whether this caller manages the place something hangs from: a group (None: the org's top
        level, the org admins' alone). What is set from above a group or key — its limits, guardrails,
        its place in the tree — is changed by whoever manages what it hangs from."""
        return self.is_org_admin if group_id is None else self.can_manage_group(group_id)

    def can_read_user(self, user_id: str, user_groups: Iterable[str]) -> bool:
        if self.is_org_admin or user_id == self.user_id:
            return True
        return any(g in self.admin_groups for g in user_groups)

    def can_manage_key(self, *, owner_id: str, group_id: str | None) -> bool:
        if self.is_org_admin or owner_id == self.user_id:
            return True
        return group_id is not None and group_id in self.admin_groups

    def covers(self, other: Scope) -> bool:
        """Whether every right `other` has is also this caller's: then this caller could act as them.

        An owner covers everyone; an admin everyone but owners; anyone else covers a person who is
        no org admin, administers nothing outside this caller's subtrees and reads no group this
        caller cannot read."""
        if self.is_owner or self.user_id == other.user_id:
            return True
        if other.is_org_admin:
            return self.is_org_admin and not other.is_owner
        if self.is_org_admin:
            return True
        readable = self.admin_groups | self.member_groups
        return other.admin_groups <= self.admin_groups and other.member_groups <= readable

    def can_assign_org_role(self, role: str) -> bool:
        """Admins manage admins and members; only an owner makes or unmakes owners."""
        return self.is_owner or (self.is_org_admin and role != "owner")


Bound = TypeVar("Bound", int, datetime)


def loosens(old: Bound | None, new: Bound | None) -> bool:
    """Whether a limit (nano-dollars) or an expiry moves up or goes away; None is no limit, no expiry."""
    return old is not None and (new is None or new > old)
