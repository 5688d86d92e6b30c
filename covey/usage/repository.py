"""SQL for usage records: batched inserts (records, their charged groups), key last-use stamps, the
quarantine of records the database refused, and the request log's reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import JSON, Table, TypeDecorator, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from covey.kit.clock import utcnow
from covey.kit.ids import new_id
from covey.models import ApiKey, Base, QuarantinedUsage, UsageCharge, UsageRecord
from covey.models.base import in_org

if TYPE_CHECKING:
    import psycopg


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def insert_batch(session: Session, records: Sequence[Mapping[str, Any]], charges: Sequence[Mapping[str, Any]]) -> None:
    """Thousands of rows a second come through here, and no statement is built per row: PostgreSQL
    takes them by COPY (one stream), SQLite by one prepared INSERT run over the rows as tuples."""
    copy = session.get_bind().dialect.name == "postgresql"
    for model, rows in ((UsageRecord, records), (UsageCharge, charges)):
        if not rows:
            continue
        if copy:
            _copy(session, _table(model), rows)
        else:
            _executemany(session, _table(model), rows)


def _executemany(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`INSERT … VALUES (?, …)` over tuples in the session's transaction, each value through its
    column's own bind conversion (what SQLAlchemy would send, JSON `null` for None included) and a
    column a row leaves out given its default; without SQLAlchemy's per-row parameter building, which
    cost more than SQLite's own work."""
    dialect = session.get_bind().dialect
    columns = list(table.columns)
    defaults = {c.name: c.default for c in columns if c.default is not None}
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    nones = [None if p is None else p(None) for p in processors]
    plan = list(zip([c.name for c in columns], processors, nones, strict=True))
    values = []
    for row in rows:
        out = []
        for name, process, none in plan:
            value = row[name] if name in row else _default(defaults[name]) if name in defaults else None
            out.append(none if value is None else value if process is None else process(value))
        values.append(out)
    listed = ", ".join(f'"{c.name}"' for c in columns)
    statement = f'INSERT INTO "{table.name}" ({listed}) VALUES ({", ".join("?" * len(columns))})'
    connection = session.connection().connection.dbapi_connection
    assert connection is not None
    cursor = connection.cursor()
    try:
        cursor.executemany(statement, values)
    except dialect.loaded_dbapi.Error as exc:  # raised as SQLAlchemy raises it for a statement
        raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
    finally:
        cursor.close()


def _copy(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`COPY … FROM STDIN` in the session's transaction. A column a row leaves out gets its default;
    JSON columns are sent as JSON text."""
    dialect = session.get_bind().dialect
    names = [c.name for c in table.columns]
    defaults = {c.name: c.default for c in table.columns if c.default is not None}
    # What a statement's parameters would go through: JSON as text, a column type's own conversion.
    convert: dict[str, Callable[[Any], Any]] = {}
    for c in table.columns:
        if isinstance(c.type, JSON):
            convert[c.name] = _json
        elif isinstance(c.type, TypeDecorator):
            convert[c.name] = partial(c.type.process_bind_param, dialect=dialect)
    listed = ", ".join(f'"{name}"' for name in names)
    statement = f'COPY "{table.name}" ({listed}) FROM STDIN'
    connection = cast("psycopg.Connection[Any]", session.connection().connection.dbapi_connection)
    try:
        with connection.cursor() as cursor, cursor.copy(statement) as stream:
            for row in rows:
                values = []
                for name in names:
                    value = row[name] if name in row else _default(defaults[name]) if name in defaults else None
                    if value is not None and name in convert:
                        value = convert[name](value)
                    values.append(value)
                stream.write_row(values)
    except connection.Error as exc:  # the driver's own: raised as SQLAlchemy raises it for a statement
        raise DBAPIError.instance(statement, None, exc, type(connection).Error, dialect=dialect) from exc


def _default(default: Any) -> Any:
    return default.arg(None) if default.is_callable else default.arg


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # what orjson will not write (a huge int), json does
        return json.dumps(value)


def stamp_last_used(session: Session, last_used: dict[str, datetime]) -> None:
    if not last_used:
        return
    keys = _table(ApiKey)
    stmt = update(keys).where(keys.c.id == bindparam("key_id")).values(last_used_at=bindparam("used_at"))
    session.execute(stmt, [{"key_id": k, "used_at": t} for k, t in last_used.items()])


def quarantine(session: Session, *, org_id: str | None, reason: str, record: str) -> None:
    session.execute(
        insert(_table(QuarantinedUsage)),
        [{"id": new_id(), "quarantined_at": utcnow(), "org_id": org_id, "reason": reason, "record": record}],
    )


# --- the request log -----------------------------------------------------------------------------


def search_requests(
    session: Session,
    *,
    org_id: str,
    user_id: str | None,
    key_id: str | None,
    group_id: str | None,
    model: str | None,
    status_range: tuple[int, int] | None,
    start: datetime | None,
    end: datetime | None,
    visible_groups: Collection[str] | None,
    visible_user_id: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[UsageRecord], int]:
    """Newest first. `group_id` is a group's subtree (the requests charged to it); `model` matches the
    model asked for or the one that answered. For a caller who is not an org admin, `visible_*` keep
    the requests charged to one of `visible_groups` and the caller's own (None = no narrowing)."""
    stmt = in_org(UsageRecord, org_id)
    if user_id:
        stmt = stmt.where(UsageRecord.user_id == user_id)
    if key_id:
        stmt = stmt.where(UsageRecord.key_id == key_id)
    if group_id:
        charged = select(UsageCharge.usage_id).where(UsageCharge.org_id == org_id, UsageCharge.group_id == group_id)
        stmt = stmt.where(UsageRecord.id.in_(charged))
    if model:
        stmt = stmt.where(or_(UsageRecord.model_requested == model, UsageRecord.model_used == model))
    if status_range:
        stmt = stmt.where(UsageRecord.status.between(*status_range))
    if start:
        stmt = stmt.where(UsageRecord.created_at >= start)
    if end:
        stmt = stmt.where(UsageRecord.created_at < end)
    if visible_groups is not None:
        through = select(UsageCharge.usage_id).where(
            UsageCharge.org_id == org_id, UsageCharge.group_id.in_(list(visible_groups))
        )
        stmt = stmt.where(or_(UsageRecord.id.in_(through), UsageRecord.user_id == visible_user_id))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    ordered = stmt.order_by(UsageRecord.created_at.desc(), UsageRecord.id.desc())
    return session.scalars(ordered.limit(limit).offset(offset)).all(), total


def get_request(session: Session, *, org_id: str, request_id: str) -> UsageRecord | None:
    return session.scalars(in_org(UsageRecord, org_id).where(UsageRecord.id == request_id)).first()


def charged_groups_of(session: Session, *, org_id: str, request_id: str) -> set[str]:
    rows = session.scalars(
        select(UsageCharge.group_id).where(UsageCharge.org_id == org_id, UsageCharge.usage_id == request_id)
    )
    return set(rows)


def logging_keys(session: Session, *, org_id: str, key_ids: Collection[str]) -> set[str]:
    """Which of these keys have their `logging` flag on now."""
    if not key_ids:
        return set()
    rows = session.scalars(in_org(ApiKey, org_id, ApiKey.id).where(ApiKey.id.in_(list(key_ids)), ApiKey.logging))
    return set(rows)
