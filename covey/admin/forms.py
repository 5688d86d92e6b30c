"""Small helpers for the panel's form fields."""

from __future__ import annotations

from datetime import UTC, datetime

from covey.groups.schemas import MAX_BULK
from covey.kit.errors import BadRequest


def picked(user_ids: list[str]) -> list[str]:
    """The people ticked in a list, each once."""
    chosen = list(dict.fromkeys(u for u in user_ids if u))
    if not chosen:
        raise BadRequest("user_ids: select at least one person")
    if len(chosen) > MAX_BULK:
        raise BadRequest(f"user_ids: at most {MAX_BULK} at once")
    return chosen


def people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def blank_to_none(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def parse_day(text: str, field: str) -> datetime | None:
    """A date from the form's date picker: the key expires at the start of that day, UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise BadRequest(f"{field}: {text!r} is not a date like 2027-01-31") from None
    return day.replace(tzinfo=UTC)
