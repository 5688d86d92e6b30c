"""SQL for usage records: batched inserts (records, their charged groups), key last-use stamps and the
quarantine of records the database refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import JSON, Table, TypeDecorator, bindparam, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from covey.kit.clock import utcnow
from covey.kit.ids import new_id
from covey.models import ApiKey, Base, QuarantinedUsage, UsageCharge, UsageRecord

if TYPE_CHECKING:
    import psycopg


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def insert_batch(session: Session, records: Sequence[Mapping[str, Any]], charges: Sequence[Mapping[str, Any]]) -> None:
    """Thousands of rows a second come through here: PostgreSQL takes them by COPY (one stream, no
    statement per row), SQLite by Core inserts (no ORM unit of work)."""
    copy = session.get_bind().dialect.name == "postgresql"
    for model, rows in ((UsageRecord, records), (UsageCharge, charges)):
        if not rows:
            continue
        if copy:
            _copy(session, _table(model), rows)
        else:
            session.execute(insert(_table(model)), list(rows))


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
