"""The `rate_limits` object of keys, users, groups and the org, as the management API takes and shows it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, Field

from covey.kit.errors import Forbidden
from covey.kit.fields import Strict
from covey.ratelimits.rules import KINDS, normalized

# At most a billion of anything a minute: a typo of extra zeros is refused rather than stored.
Amount = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class RateLimitsIn(Strict):
    """The limits named change; 0 or null removes one; those not named keep their value."""

    requests_per_minute: Amount | None = None
    tokens_per_minute: Amount | None = None
    concurrent: Amount | None = Field(default=None, description="Requests in flight at once")


class RateLimitsOut(BaseModel):
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent: int | None = None

    @classmethod
    def of(cls, stored: Mapping[str, object] | None) -> RateLimitsOut:
        return cls.model_validate(normalized(stored))


def merged(stored: Mapping[str, object] | None, given: RateLimitsIn) -> dict[str, int] | None:
    """The stored limits with the given ones applied; None when nothing is limited."""
    out = normalized(stored)
    for kind in given.model_fields_set:
        value = getattr(given, kind)
        if value:
            out[kind] = value
        else:
            out.pop(kind, None)
    return out or None


def raised(before: Mapping[str, object] | None, after: Mapping[str, object] | None) -> list[str]:
    """The kinds a change loosens: a limit removed, or made higher."""
    old, new = normalized(before), normalized(after)
    return [k for k in KINDS if k in old and (k not in new or new[k] > old[k])]


def check_not_raised(
    before: Mapping[str, object] | None, after: Mapping[str, object] | None, *, may_raise: bool, what: str
) -> None:
    """A rate limit set from above can be lowered by those below, never raised or removed."""
    loosened = raised(before, after)
    if loosened and not may_raise:
        raise Forbidden(f"{what}: raising or removing {', '.join(loosened)} needs an admin above it")
