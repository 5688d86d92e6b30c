from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who made a change: a user (through a key, the panel or the CLI), a SCIM client, or Covey itself."""

    kind: str  # "user" | "key" | "scim" | "system"
    id: str | None
    label: str
    via_key_id: str | None = None

    @classmethod
    def system(cls, label: str = "covey") -> Actor:
        return cls(kind="system", id=None, label=label)
