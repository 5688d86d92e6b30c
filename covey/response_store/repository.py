"""All SQL of stored responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from covey.models import StoredResponse, in_org


def add(
    session: Session, *, response_id: str, org_id: str, key_id: str, user_id: str, input: list[Any], response: Any
) -> None:
    session.add(
        StoredResponse(id=response_id, org_id=org_id, key_id=key_id, user_id=user_id, input=input, response=response)
    )


def owned(session: Session, *, org_id: str, user_id: str, response_id: str) -> StoredResponse | None:
    """The response, when it was made by a key of this owner in this org."""
    stmt = in_org(StoredResponse, org_id).where(StoredResponse.id == response_id, StoredResponse.user_id == user_id)
    return session.scalars(stmt).one_or_none()


def remove(session: Session, *, org_id: str, user_id: str, response_id: str) -> bool:
    found = owned(session, org_id=org_id, user_id=user_id, response_id=response_id)
    if found is None:
        return False
    session.delete(found)
    return True


def delete_before(session: Session, *, org_id: str | None, before: datetime, batch: int) -> int:
    """Delete one batch of stored responses made before `before`."""
    # cross-org: without `org_id`, retention applies to every organization.
    stmt = select(StoredResponse.id).where(StoredResponse.created_at < before)
    if org_id is not None:
        stmt = stmt.where(StoredResponse.org_id == org_id)
    ids = [row[0] for row in session.execute(stmt.limit(batch))]
    if not ids:
        return 0
    session.execute(delete(StoredResponse).where(StoredResponse.id.in_(ids)))
    return len(ids)
