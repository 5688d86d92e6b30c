"""SQL for the audit log."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Text, cast, func, or_, select
from sqlalchemy.orm import Session

from covey.models import AuditEvent, in_org


def insert_event(session: Session, event: AuditEvent) -> None:
    session.add(event)


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
    matching: str | None = None,
    naming: Collection[str] = (),
) -> tuple[Sequence[AuditEvent], int]:
    """`matching` (the panel's search) keeps events whose action or actor contains the text, or that
    concern one of the objects in `naming` (ids whose names contain it): as the target, or named in
    the change itself (the person of a membership event)."""
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
    if matching:
        stmt = stmt.where(_matching(matching, naming))
    if since:
        stmt = stmt.where(AuditEvent.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditEvent.occurred_at < until)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id).limit(limit).offset(offset)
    ).all()
    return rows, total


def _matching(text: str, naming: Collection[str]) -> ColumnElement[bool]:
    found: list[ColumnElement[bool]] = [
        AuditEvent.action.icontains(text, autoescape=True),
        AuditEvent.actor_label.icontains(text, autoescape=True),
    ]
    if naming:
        found.append(AuditEvent.target_id.in_(naming))
        for column in (AuditEvent.before, AuditEvent.after):
            found.extend(cast(column, Text).contains(ident, autoescape=True) for ident in naming)
    return or_(*found)
