"""All SQL of the panel's own tables: sessions and refused sign-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from covey.models import AdminSession, SignInFailure, User


def users_by_email(session: Session, *, email: str) -> Sequence[User]:
    """Emails are unique within an organization, not across them: every user who has this one."""
    return session.scalars(select(User).where(User.email == email.lower()).order_by(User.created_at)).all()


def add_session(session: Session, row: AdminSession) -> None:
    session.add(row)
    session.flush()


def session_with_user(session: Session, *, token_hash: str) -> tuple[AdminSession, User] | None:
    row = session.execute(
        select(AdminSession, User)
        .join(User, User.id == AdminSession.user_id)
        .where(AdminSession.token_hash == token_hash, User.org_id == AdminSession.org_id)
    ).first()
    return (row[0], row[1]) if row else None


def delete_session(session: Session, *, token_hash: str) -> None:
    session.execute(delete(AdminSession).where(AdminSession.token_hash == token_hash))


def delete_expired_sessions(session: Session, *, now: datetime) -> None:
    session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))


def add_failure(session: Session, *, email: str, client: str, at: datetime) -> None:
    session.add(SignInFailure(email=email, client=client, occurred_at=at))
    session.flush()


def failures_since(
    session: Session, *, since: datetime, client: str, email: str | None = None
) -> tuple[int, datetime | None]:
    """How many refused sign-ins from this client address (for this email, when one is named) since
    `since`, and the oldest of them."""
    conditions = [SignInFailure.client == client, SignInFailure.occurred_at >= since]
    if email is not None:
        conditions.append(SignInFailure.email == email)
    count, oldest = session.execute(select(func.count(), func.min(SignInFailure.occurred_at)).where(*conditions)).one()
    return int(count), oldest


def clear_failures(session: Session, *, email: str, client: str) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.email == email, SignInFailure.client == client))


def prune_failures(session: Session, *, before: datetime) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.occurred_at < before))
