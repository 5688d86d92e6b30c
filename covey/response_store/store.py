"""The gateway's way to stored responses: each call one short transaction in a worker thread. Only a
Responses request that names `previous_response_id`, or whose answer is stored, waits on it
(docs/design.md §1); a database that fails a write leaves the answer unstored (`store: false`), never
unanswered."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from covey.kit.db import Database
from covey.kit.errors import ServiceUnavailable
from covey.response_store import repository

if TYPE_CHECKING:
    from covey.gateway.access import Grant

log = logging.getLogger("covey.gateway")
BATCH = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Owner:
    """Whose responses a key reaches: those made by any key of its owner, in its org."""

    org_id: str
    user_id: str


# What Covey's response ids look like (`resp_` and 32 hex digits); anything else names no response.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def plausible(response_id: str) -> bool:
    """The id could be a stored response's; one that cannot is never looked up."""
    return _ID.fullmatch(response_id) is not None


def owner(grant: Grant) -> Owner:
    """The owner of a gateway key's grant (its org, its owner)."""
    return Owner(org_id=grant.org_id, user_id=grant.owner_id)


@dataclass(frozen=True)
class Stored:
    input: list[Any]
    response: dict[str, Any]


class ResponseStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def keep(self, owner: Owner, *, key_id: str, response_id: str, input: list[Any], response: Any) -> bool:
        """Stores the response; False when the database refused it."""

        def write() -> None:
            with self.db.transaction() as session:
                repository.add(
                    session,
                    response_id=response_id,
                    org_id=owner.org_id,
                    key_id=key_id,
                    user_id=owner.user_id,
                    input=input,
                    response=response,
                )

        try:
            await asyncio.to_thread(write)
        except SQLAlchemyError as exc:
            log.error("storing response %s failed: %s", response_id, type(exc).__name__)
            return False
        return True

    async def recall(self, owner: Owner, response_id: str) -> Stored | None:
        def read() -> Stored | None:
            with self.db.transaction() as session:
                found = repository.owned(session, org_id=owner.org_id, user_id=owner.user_id, response_id=response_id)
                return Stored(input=list(found.input), response=dict(found.response)) if found is not None else None

        return await _unless_down(read)

    async def forget(self, owner: Owner, response_id: str) -> bool:
        def remove() -> bool:
            with self.db.transaction() as session:
                return repository.remove(session, org_id=owner.org_id, user_id=owner.user_id, response_id=response_id)

        return await _unless_down(remove)


async def _unless_down(call: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(call)
    except SQLAlchemyError as exc:
        log.error("reading stored responses failed: %s", type(exc).__name__)
        raise ServiceUnavailable("Stored responses are unavailable, please try again") from None


def prune(db: Database, *, older_than: datetime, org_id: str | None = None, batch: int = BATCH) -> int:
    """Delete stored responses made before `older_than`, a short transaction per batch."""
    deleted = 0
    while True:
        with db.transaction() as session:
            n = repository.delete_before(session, org_id=org_id, before=older_than, batch=batch)
        deleted += n
        if n < batch:
            return deleted
