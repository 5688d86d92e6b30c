"""Every change, by any path, goes through `record`: one audit event, and a note that the transaction
moves the control-plane revision (the journal bumps it once, at commit, with what it touched)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from covey.audit import repository
from covey.audit.actor import Actor
from covey.models import AuditEvent
from covey.plane import journal


def record(
    session: Session,
    *,
    org_id: str,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        org_id=org_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        via_key_id=actor.via_key_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
    )
    repository.insert_event(session, event)
    journal.note(session)
    return event


def observed(session: Session, events: list[AuditEvent]) -> None:
    """Events that record what happened on the gateway (guardrail hits) without changing the control
    plane: no revision bump, so no gateway reloads anything for them."""
    for event in events:
        repository.insert_event(session, event)
