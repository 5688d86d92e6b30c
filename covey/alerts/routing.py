"""Which webhooks an alert goes to (docs/design.md §4): the organization's own (no group) and those
scoped to the alert's group or any group above it. An alert on anything but a group (a key, a user,
the organization, a provider) goes to the organization's webhooks only."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, TypeVar

# Owners whose `owner_id` is a group: a group's subtree line and its per-member line.
GROUP_OWNERS = ("group", "member")


class Scoped(Protocol):
    @property
    def group_id(self) -> str | None: ...


H = TypeVar("H", bound=Scoped)


def alert_group(owner_type: str, owner_id: str) -> str | None:
    """The group an alert is about, or None when it is about no group."""
    return owner_id if owner_type in GROUP_OWNERS else None


def recipients(webhooks: Sequence[H], chain: Collection[str]) -> list[H]:
    """The webhooks of `webhooks`, in their order, that take an alert on the group whose chain (the
    group and its ancestors, `groups.tree.chain`) is given; an empty chain for an alert on no group."""
    return [h for h in webhooks if h.group_id is None or h.group_id in chain]
