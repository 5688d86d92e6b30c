"""SCIM filters (RFC 7644 §3.4.2.2), parsed by the SCIM library, turned into SQL here.

Each resource names the attributes it can be filtered on and the column (or membership subquery)
behind each. Strings compare case-insensitively unless the attribute is case-exact (`externalId`,
`id`, member values), as the schema says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from covey.models import Group, Membership, User

# A compiled attribute: given an operator (None for `pr`) and a value, the SQL condition.
Target = Callable[[CompareOperator | None, Any], ColumnElement[bool]]

_LIKE_ESCAPE = "\\"


def _like_pattern(text: str, op: CompareOperator) -> str:
    escaped = text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    if op == CompareOperator.co:
        return f"%{escaped}%"
    if op == CompareOperator.sw:
        return f"{escaped}%"
    return f"%{escaped}"


def string(column: Any, *, case_exact: bool = False) -> Target:
    def compile_(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return and_(column.is_not(None), column != "")
        if value is None:
            return column.is_(None) if op == CompareOperator.eq else column.is_not(None)  # type: ignore[no-any-return]
        if not isinstance(value, str):
            raise InvalidFilterException(detail=f"a text value is expected, got {value!r}")
        col, text = (column, value) if case_exact else (func.lower(column), value.lower())
        if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
            return col.like(_like_pattern(text, op), escape=_LIKE_ESCAPE)
        return _ordered(col, op, text)

    return compile_


def _ordered(col: Any, op: CompareOperator, value: Any) -> ColumnElement[bool]:
    match op:
        case CompareOperator.eq:
            return col == value  # type: ignore[no-any-return]
        case CompareOperator.ne:
            return or_(col != value, col.is_(None))
        case CompareOperator.gt:
            return col > value  # type: ignore[no-any-return]
        case CompareOperator.ge:
            return col >= value  # type: ignore[no-any-return]
        case CompareOperator.lt:
            return col < value  # type: ignore[no-any-return]
        case CompareOperator.le:
            return col <= value  # type: ignore[no-any-return]
    raise InvalidFilterException(detail=f"operator {op.value} does not apply here")


def timestamp(column: Any) -> Target:
    def compile_(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return column.is_not(None)  # type: ignore[no-any-return]
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidFilterException(detail=f"{value!r} is not a dateTime") from None
        if not isinstance(value, datetime):
            raise InvalidFilterException(detail=f"a dateTime is expected, got {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return _ordered(column, op, value)

    return compile_


def user_active() -> Target:
    def compile_(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        if op is None:
            return true()
        if op not in (CompareOperator.eq, CompareOperator.ne) or not isinstance(value, bool):
            raise InvalidFilterException(detail="active compares with eq or ne to true or false")
        is_active = User.status == "active"
        return is_active if value == (op == CompareOperator.eq) else not_(is_active)

    return compile_


def membership(outer: InstrumentedAttribute[str], own: Any, other: Any) -> Target:
    """A multi-valued reference kept in `memberships`: a group's members, a user's groups."""

    def compile_(op: CompareOperator | None, value: Any) -> ColumnElement[bool]:
        inner = select(own)
        if op is not None:
            inner = inner.where(string(other, case_exact=True)(op, value))
        return outer.in_(inner)

    return compile_


USER_ATTRIBUTES: Mapping[str, Target] = {
    "id": string(User.id, case_exact=True),
    "username": string(func.coalesce(User.user_name, User.email)),
    "emails": string(User.email),
    "emails.value": string(User.email),
    "displayname": string(User.name),
    "externalid": string(User.external_id, case_exact=True),
    "active": user_active(),
    "groups": membership(User.id, Membership.user_id, Membership.group_id),
    "groups.value": membership(User.id, Membership.user_id, Membership.group_id),
    "meta.created": timestamp(User.created_at),
    "meta.lastmodified": timestamp(User.updated_at),
}

GROUP_ATTRIBUTES: Mapping[str, Target] = {
    "id": string(Group.id, case_exact=True),
    "displayname": string(Group.name),
    "externalid": string(Group.external_id, case_exact=True),
    "members": membership(Group.id, Membership.group_id, Membership.user_id),
    "members.value": membership(Group.id, Membership.group_id, Membership.user_id),
    "meta.created": timestamp(Group.created_at),
    "meta.lastmodified": timestamp(Group.updated_at),
}


@dataclass
class _ToSql(FilterVisitor[ColumnElement[bool]]):
    attributes: Mapping[str, Target]
    schema: str
    prefix: str = ""
    # Across several resource types, an attribute one of them lacks is false there (RFC 7644 §3.4.2.1).
    lenient: bool = False

    def _target(self, attr_path: AttrPath) -> Target:
        if attr_path.uri is not None and attr_path.uri.lower() != self.schema.lower():
            if self.lenient:
                return lambda _op, _value: false()
            raise InvalidFilterException(detail=f"attribute {attr_path} cannot be filtered on")
        name = attr_path.attr.lower() + (f".{attr_path.sub_attr.lower()}" if attr_path.sub_attr else "")
        key = f"{self.prefix}.{name}" if self.prefix else name
        found = self.attributes.get(key)
        if found is None and self.lenient:
            return lambda _op, _value: false()
        if found is None:
            raise InvalidFilterException(detail=f"attribute {attr_path} cannot be filtered on")
        return found

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        return self._target(node.attr_path)(node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        return self._target(node.attr_path)(None, None)

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        if self.prefix:
            raise InvalidFilterException(detail="value filters cannot be nested")
        inner = _ToSql(self.attributes, self.schema, prefix=node.attr_path.attr.lower(), lenient=self.lenient)
        return inner.visit(node.val_filter)


def to_sql(
    expression: str | None,
    *,
    model: type[Any],
    attributes: Mapping[str, Target],
    schema: str,
    lenient: bool = False,
) -> ColumnElement[bool]:
    """The SQL condition for a filter; a filter that cannot be parsed or used is `invalidFilter`."""
    if not expression:
        return true()
    node: FilterNode = ScimFilter[model](expression).ast  # type: ignore[valid-type]
    return _ToSql(attributes, schema, lenient=lenient).visit(node)
