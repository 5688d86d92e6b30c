"""Which webhooks an alert goes to: the organization's, and those of its group or a group above it."""

from __future__ import annotations

from dataclasses import dataclass

from covey.alerts.routing import alert_group, recipients
from covey.groups import tree


@dataclass(frozen=True)
class Hook:
    name: str
    group_id: str | None


PARENT_OF = {"eng": None, "backend": "eng", "api": "backend", "frontend": "eng", "sales": None}
HOOKS = [
    Hook("org", None),
    Hook("eng", "eng"),
    Hook("backend", "backend"),
    Hook("frontend", "frontend"),
    Hook("sales", "sales"),
    Hook("gone", "deleted-group"),
]


def names(chain: list[str]) -> list[str]:
    return [h.name for h in recipients(HOOKS, chain)]


def test_a_group_alert_goes_up_the_tree_never_sideways_or_down() -> None:
    assert names(tree.chain(PARENT_OF, "api")) == ["org", "eng", "backend"]
    assert names(tree.chain(PARENT_OF, "backend")) == ["org", "eng", "backend"]
    assert names(tree.chain(PARENT_OF, "eng")) == ["org", "eng"]
    assert names(tree.chain(PARENT_OF, "frontend")) == ["org", "eng", "frontend"]
    assert names(tree.chain(PARENT_OF, "sales")) == ["org", "sales"]


def test_an_alert_on_no_group_goes_to_the_organizations_webhooks_only() -> None:
    assert names([]) == ["org"]
    for owner_type in ("key", "user", "org", "provider"):
        assert alert_group(owner_type, "backend") is None


def test_group_and_per_member_lines_are_about_their_group() -> None:
    assert alert_group("group", "backend") == "backend"
    assert alert_group("member", "backend") == "backend"


def test_no_webhooks_none_delivered() -> None:
    assert recipients([], ["eng"]) == []
