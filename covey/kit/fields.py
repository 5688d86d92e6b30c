"""Pydantic field types shared by the API schemas."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

from covey.kit.money import MoneyError, parse_dollars, to_nanos

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _money(value: Any) -> Decimal:
    try:
        return parse_dollars(value)
    except MoneyError as exc:
        raise ValueError(f"money amount {exc}") from None


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value.lower()


# A dollar amount given as a JSON number or a decimal string ("12.50").
Money = Annotated[Decimal, BeforeValidator(_money)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320), AfterValidator(_email)]
# RFC 7643's userName: any non-empty string, unique in the org (compared without case).
UserName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


def limit_nanos(amount: Decimal | None) -> int | None:
    """Requesty's convention: 0 (or nothing) means unlimited."""
    if amount is None or amount == 0:
        return None
    return to_nanos(amount)
