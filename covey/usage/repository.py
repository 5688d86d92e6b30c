"""SQL for usage records: batched inserts (records, their charged groups), key last-use stamps and the
quarantine of records the database refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from covey.kit.clock import utcnow
from covey.kit.ids import new_id
from covey.models import ApiKey, Base, QuarantinedUsage, UsageCharge, UsageRecord


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def insert_batch(session: Session, records: Sequence[Mapping[str, Any]], charges: Sequence[Mapping[str, Any]]) -> None:
    # Core inserts (no ORM unit of work): thousands of rows a second come through here.
    if records:
        session.execute(insert(_table(UsageRecord)), list(records))
    if charges:
        session.execute(insert(_table(UsageCharge)), list(charges))


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
