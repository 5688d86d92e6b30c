"""The tree's pure rules, without a server."""

from __future__ import annotations

from covey.groups import tree

#  eng ─┬─ backend ── oncall
#       └─ frontend
#  sales
PARENT_OF: dict[str, str | None] = {
    "eng": None,
    "backend": "eng",
    "oncall": "backend",
    "frontend": "eng",
    "sales": None,
}


def test_chain_depth_and_height() -> None:
    assert tree.chain(PARENT_OF, "oncall") == ["oncall", "backend", "eng"]
    assert tree.ancestors(PARENT_OF, "oncall") == ["backend", "eng"]
    assert tree.depth(PARENT_OF, "eng") == 1 and tree.depth(PARENT_OF, "oncall") == 3
    assert tree.height(PARENT_OF, "eng") == 3 and tree.height(PARENT_OF, "frontend") == 1


def test_descendants_and_cycles() -> None:
    assert tree.descendants(PARENT_OF, "eng") == {"eng", "backend", "oncall", "frontend"}
    assert tree.descendants(PARENT_OF, "sales") == {"sales"}
    assert tree.would_cycle(PARENT_OF, "eng", "oncall")
    assert tree.would_cycle(PARENT_OF, "backend", "backend")
    assert not tree.would_cycle(PARENT_OF, "backend", "sales")
    assert not tree.would_cycle(PARENT_OF, "eng", None)


def test_effective_groups_add_ancestors_and_ignore_unknown_ids() -> None:
    assert tree.effective_groups(PARENT_OF, ["oncall", "sales", "deleted"]) == {"oncall", "backend", "eng", "sales"}
