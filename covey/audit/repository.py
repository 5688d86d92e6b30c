"""SQL for the audit log and the control-plane revision counter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from covey.models import AuditEvent, Revision, in_org


def insert_event(session: Session, event: AuditEvent) -> None:
    session.add(event)


def bump_revision(session: Session) -> None:
    session.execute(update(Revision).where(Revision.id == 1).values(value=Revision.value + 1))


def current_revision(session: Session) -> int:
    return session.scalar(select(Revision.value).where(Revision.id == 1)) or 0


def list_events(
    session: Session,
    *,
    org_id: str,
    actor_id: str | None,
    target_id: str | None,
    target_type: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[AuditEvent], int]:
    stmt = in_org(AuditEvent, org_id)
    if actor_id:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if target_id:
        stmt = stmt.where(AuditEvent.target_id == target_id)
    if target_type:
        stmt = stmt.where(AuditEvent.target_type == target_type)
    if action:
        # `group.` matches every group action; `group.create` matches one.
        stmt = stmt.where(AuditEvent.action.startswith(action) if action.endswith(".") else AuditEvent.action == action)
    if since:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id).limit(limit).offset(offset)
    ).all()
    return rows, total
