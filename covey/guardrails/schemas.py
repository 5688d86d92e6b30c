"""The `guardrails` object of the org, groups and keys: a mode per category.

`true` or "mask" masks what the category finds, "block" refuses the request (400 naming the
category), `false` or "off" leaves it to the levels above: a group or key can only strengthen what
the org and its ancestors set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from covey.kit.errors import Forbidden

CATEGORIES = ("pii", "secrets", "financial")
MODES = ("off", "mask", "block")
Category = Literal["pii", "secrets", "financial"]
Mode = Literal["off", "mask", "block"]
Setting = StrictBool | Mode
GuardrailsIn = Annotated[dict[Category, Setting], Field(max_length=len(CATEGORIES))]


def mode(value: object) -> str:
    if value is True:
        return "mask"
    return value if isinstance(value, str) and value in MODES else "off"


def strongest(settings: Iterable[Mapping[str, object] | None]) -> dict[str, str]:
    """Each category's mode along a chain (org, groups, key): the strongest holds."""
    out: dict[str, str] = {}
    for setting in settings:
        for category, value in (setting or {}).items():
            if category in CATEGORIES and MODES.index(mode(value)) > MODES.index(out.get(category, "off")):
                out[category] = mode(value)
    return {c: m for c, m in out.items() if m != "off"}


def check_not_weakened(
    before: Mapping[str, object] | None, after: Mapping[str, object] | None, *, may_weaken: bool
) -> None:
    old, new = before or {}, after or {}
    weaker = [c for c in CATEGORIES if MODES.index(mode(new.get(c))) < MODES.index(mode(old.get(c)))]
    if weaker and not may_weaken:
        raise Forbidden(f"guardrails: weakening {', '.join(weaker)} needs an admin above it")
