"""Every change, by any path, goes through `record`: one audit event naming the caller who made it,
and a note that the transaction moves the control-plane revision (the journal bumps it once, at
commit, with what it touched)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from covey.audit import repository
from covey.models import AuditEvent
from covey.plane import journal

if TYPE_CHECKING:
    from covey.auth.caller import Caller


def record(
    session: Session,
    caller: Caller,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """The change `action` on (`target_type`, `target_id`) by `caller`, in the caller's org. Covey's own
    changes (bootstrap, provisioning, the command line) are made by `Caller.system(org_id, label)`."""
    actor = caller.actor
    event = AuditEvent(
        org_id=caller.org_id,
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
