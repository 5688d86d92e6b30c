from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.models.base import OrgScoped


class StoredResponse(OrgScoped, Base):
    """A Response the gateway answered with `store` on (the Responses API's default): what a later
    request's `previous_response_id` continues, and what `GET`/`DELETE /v1/responses/{id}` reach.
    The keys of the owner of the key that made it, in its org, reach it; kept as long as usage
    records (`usage_retention_days`)."""

    __tablename__ = "stored_responses"
    __table_args__ = (Index("ix_stored_responses_created", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # No foreign keys to keys or users: like usage records, they outlive them.
    key_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    # The conversation it answered, as items: the earlier turns' input and output, then its own input
    # (`instructions` are not carried from one response to the next, as OpenAI's API does).
    input: Mapped[list[Any]] = mapped_column(JSON)
    # The Response as its caller was answered.
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
