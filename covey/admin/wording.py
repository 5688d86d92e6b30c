"""Bad input told in plain sentences: a form's problems named by the field's label, without the
validation library's words ("name: String should have at least 1 character" reads "Name cannot be
empty.")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import ErrorDetails

_HIDDEN_LOCATIONS = ("body", "query", "path", "header", "form", "cookie")


def label(location: Sequence[int | str]) -> str:
    """`("body", "monthly_limit")` → "Monthly limit"; a list position names its entry."""
    parts = [str(p) for p in location if p not in _HIDDEN_LOCATIONS and not isinstance(p, int)]
    if not parts:
        return ""
    words = parts[-1].replace("_id", "").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _sentence(field: str, error: ErrorDetails) -> str:
    kind = error.get("type", "")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    whole_form = not field
    field = field or "A value"
    if kind == "missing":
        return f"{field} is required."
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return f"{field} cannot be empty." if least == 1 else f"{field} needs at least {least} characters."
    if kind == "string_too_long":
        return f"{field} can have at most {ctx.get('max_length')} characters."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{field} must be a whole number."
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type"):
        return f"{field} must be a number."
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"{field} must be {'at least' if kind == 'greater_than_equal' else 'more than'} {bound}."
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"{field} must be {'at most' if kind == 'less_than_equal' else 'less than'} {bound}."
    if kind in ("literal_error", "enum"):
        return f"{field} must be one of {ctx.get('expected', 'the choices offered')}."
    if kind in ("bool_parsing", "bool_type"):
        return f"{field} must be on or off."
    if kind in ("date_parsing", "date_from_datetime_parsing", "datetime_parsing", "datetime_from_date_parsing"):
        return f"{field} must be a date (YYYY-MM-DD)."
    if kind in ("url_parsing", "url_type", "url_scheme"):
        return f"{field} must be a web address (https://…)."
    if kind == "extra_forbidden":
        return f"{field} is not something this form sets."
    if kind == "json_invalid":
        return "The request could not be read."
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message.removeprefix("money amount ").rstrip(".")
    if whole_form:
        return message[:1].upper() + message[1:] + "."
    if message.startswith(("must ", "is ", "has ", "cannot ", "needs ")):
        return f"{field} {message}."
    return f"{field}: {message[:1].lower() + message[1:]}."


def plain_errors(errors: Sequence[ErrorDetails]) -> str:
    """Every problem of a form, one sentence each."""
    sentences = dict.fromkeys(_sentence(label(e.get("loc", ())), e) for e in errors)
    return " ".join(sentences) or "Something in the form is not valid."
