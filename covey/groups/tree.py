"""The group tree as pure functions over a `parent_of` map (group id → parent id, None at the top)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ParentMap = Mapping[str, str | None]

# How a group is named where names may repeat under different parents: "Engineering › Backend".
SEPARATOR = " › "


def chain(parent_of: ParentMap, group_id: str) -> list[str]:
    """The group and its ancestors, nearest first: [Backend, Engineering]."""
    out: list[str] = []
    current: str | None = group_id
    while current is not None and current not in out:
        out.append(current)
        current = parent_of.get(current)
    return out


def path(parent_of: ParentMap, names: Mapping[str, str], group_id: str) -> str:
    """The group's name after its ancestors', from the top level; a group missing from `names` is left out."""
    return SEPARATOR.join(names[g] for g in reversed(chain(parent_of, group_id)) if g in names)


def ancestors(parent_of: ParentMap, group_id: str) -> list[str]:
    return chain(parent_of, group_id)[1:]


def children_map(parent_of: ParentMap) -> dict[str | None, list[str]]:
    children: dict[str | None, list[str]] = {}
    for gid, parent in parent_of.items():
        children.setdefault(parent, []).append(gid)
    return children


def descendants(
    parent_of: ParentMap, group_id: str, *, children: Mapping[str | None, list[str]] | None = None
) -> set[str]:
    """The group and everything under it."""
    kids = children if children is not None else children_map(parent_of)
    out = {group_id}
    stack = [group_id]
    while stack:
        for child in kids.get(stack.pop(), ()):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def depth(parent_of: ParentMap, group_id: str) -> int:
    """1 for a top-level group."""
    return len(chain(parent_of, group_id))


def height(parent_of: ParentMap, group_id: str) -> int:
    """Levels in the subtree rooted here: 1 for a leaf."""
    kids = children_map(parent_of)

    def _h(gid: str) -> int:
        return 1 + max((_h(c) for c in kids.get(gid, ())), default=0)

    return _h(group_id)


def would_cycle(parent_of: ParentMap, group_id: str, new_parent_id: str | None) -> bool:
    """Moving `group_id` under `new_parent_id` would put it under itself or a descendant."""
    return new_parent_id is not None and group_id in chain(parent_of, new_parent_id)


def effective_groups(parent_of: ParentMap, direct: Iterable[str]) -> set[str]:
    """Direct groups plus all their ancestors (docs/design.md §2)."""
    out: set[str] = set()
    for gid in direct:
        if gid in parent_of:
            out.update(chain(parent_of, gid))
    return out
