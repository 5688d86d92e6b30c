"""SQL for usage records: batched inserts (records, their charged groups) and key last-use stamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from covey.models import ApiKey, UsageCharge, UsageRecord


def insert_batch(session: Session, records: Sequence[dict[str, Any]], charges: Sequence[dict[str, Any]]) -> None:
    if records:
        session.execute(insert(UsageRecord.__table__), list(records))
    if charges:
        session.execute(insert(UsageCharge.__table__), list(charges))


def stamp_last_used(session: Session, last_used: dict[str, datetime]) -> None:
    if not last_used:
        return
    stmt = (
        update(ApiKey.__table__)
        .where(ApiKey.__table__.c.id == bindparam("key_id"))
        .values(last_used_at=bindparam("used_at"))
    )
    session.execute(stmt, [{"key_id": k, "used_at": t} for k, t in last_used.items()])
