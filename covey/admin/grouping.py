"""How the panel names groups in pickers and counts their people.

Sibling names are unique, but the same name may sit under different parents, so a picker names each
group by its path ("Engineering › Backend"). A group's *members* are the distinct people anywhere in
its subtree (its spend is the subtree's too, docs/design.md §3); its *direct* members are the people
added to the group itself. Every page shows the same two numbers, under those two labels."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from covey.groups import tree
from covey.groups.schemas import GroupOut


@dataclass(frozen=True)
class Choice:
    """One entry of a group picker."""

    id: str
    path: str


def paths(groups: Sequence[GroupOut]) -> dict[str, str]:
    """Each group's path from the top level, through the groups given (the ones the caller may read)."""
    parent_of = {g.id: g.parent_id for g in groups}
    names = {g.id: g.name for g in groups}
    return {g.id: tree.path(parent_of, names, g.id) for g in groups}


def choices(groups: Sequence[GroupOut], *, among: Collection[str], excluding: Collection[str] = ()) -> list[Choice]:
    """The groups of `among`, less `excluding`, named by path and sorted by it."""
    by_path = paths(groups)
    picked = (Choice(g.id, by_path[g.id]) for g in groups if g.id in among and g.id not in excluding)
    return sorted(picked, key=lambda c: c.path.lower())


def subtree(groups: Sequence[GroupOut], group_id: str) -> set[str]:
    """The group and every group under it."""
    return tree.descendants({g.id: g.parent_id for g in groups}, group_id)


def member_totals(parent_of: tree.ParentMap, memberships: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Distinct people in each group's subtree, from (group id, user id) pairs."""
    people: dict[str, set[str]] = {}
    for gid, uid in memberships:
        for above in tree.chain(parent_of, gid):
            people.setdefault(above, set()).add(uid)
    return {gid: len(users) for gid, users in people.items()}
