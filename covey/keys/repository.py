"""All SQL about API keys."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_
from sqlalchemy.orm import Session

from covey.models import ApiKey, User, in_org


def get(session: Session, *, org_id: str, key_id: str) -> ApiKey | None:
    key: ApiKey | None = session.scalar(in_org(ApiKey, org_id).where(ApiKey.id == key_id))
    return key


def add(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key


def search(
    session: Session,
    *,
    org_id: str,
    include_revoked: bool,
    owner_id: str | None,
    group_id: str | None,
    visible_groups: Collection[str] | None,
    visible_owner_id: str | None,
) -> Sequence[ApiKey]:
    """`visible_*` narrow the result for callers who are not org admins (None = no narrowing): the keys
    of those groups, and the keys of that owner."""
    stmt = in_org(ApiKey, org_id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    if owner_id:
        stmt = stmt.where(ApiKey.owner_id == owner_id)
    if group_id:
        stmt = stmt.where(ApiKey.group_id == group_id)
    if visible_groups is not None:
        stmt = stmt.where(or_(ApiKey.group_id.in_(list(visible_groups)), ApiKey.owner_id == visible_owner_id))
    return session.scalars(stmt.order_by(ApiKey.created_at, ApiKey.id)).all()


def emails(session: Session, *, org_id: str, user_ids: Collection[str]) -> dict[str, str | None]:
    if not user_ids:
        return {}
    rows = session.execute(in_org(User, org_id, User.id, User.email).where(User.id.in_(list(user_ids))))
    return {uid: email for uid, email in rows}
