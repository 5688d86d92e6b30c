from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from covey.kit.clock import utcnow
from covey.models import ApiKey, Group, Membership, User, in_org


def key_and_owner(session: Session, key_hash: str) -> tuple[ApiKey, User] | None:
    # cross-org: the key is what says which organization the request acts in.
    row = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.owner_id).where(ApiKey.key_hash == key_hash)
    ).first()
    return (row[0], row[1]) if row else None


def memberships_of(session: Session, *, org_id: str, user_id: str) -> dict[str, str]:
    rows = session.execute(
        in_org(Membership, org_id, Membership.group_id, Membership.role).where(Membership.user_id == user_id)
    )
    return {gid: role for gid, role in rows}


def parent_map(session: Session, *, org_id: str) -> dict[str, str | None]:
    return {gid: parent for gid, parent in session.execute(in_org(Group, org_id, Group.id, Group.parent_id))}


def touch_key(session: Session, key_id: str) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
