"""All SQL of OpenID Connect sign-in: an org's settings, the sign-ins under way, and the people and
memberships a sign-in links and reconciles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from covey.models import Group, Membership, Organization, OrgSso, SsoLogin, User, in_org


def get(session: Session, *, org_id: str) -> OrgSso | None:
    # cross-org: the primary key is the org id, so this reads that one org's row only.
    return session.get(OrgSso, org_id)


def save(session: Session, row: OrgSso) -> OrgSso:
    session.add(row)
    session.flush()
    return row


def remove(session: Session, row: OrgSso) -> None:
    session.delete(row)
    session.flush()


def offered(session: Session) -> Sequence[tuple[Organization, OrgSso]]:
    """Every organization with sign-in through its issuer, for the sign-in page."""
    # cross-org: the sign-in page comes before anyone is known, and offers each org's button.
    rows = session.execute(
        select(Organization, OrgSso).join(OrgSso, OrgSso.org_id == Organization.id).order_by(Organization.name)
    )
    return [(org, sso) for org, sso in rows]


def add_login(session: Session, login: SsoLogin) -> None:
    session.add(login)
    session.flush()


def take_login(session: Session, *, state_hash: str, now: datetime) -> SsoLogin | None:
    """The sign-in this state began, deleted as it is read: a state is good for one callback."""
    # cross-org: the state is what says which organization the callback belongs to.
    session.execute(delete(SsoLogin).where(SsoLogin.expires_at <= now))
    row = session.get(SsoLogin, state_hash)
    if row is None:
        return None
    session.delete(row)
    session.flush()
    return row


def user_by_subject(session: Session, *, org_id: str, subject: str) -> User | None:
    return session.scalar(in_org(User, org_id).where(User.oidc_subject == subject))


def groups_in_org(session: Session, *, org_id: str, group_ids: Sequence[str]) -> dict[str, Group]:
    if not group_ids:
        return {}
    rows = session.scalars(in_org(Group, org_id).where(Group.id.in_(list(group_ids))))
    return {g.id: g for g in rows}


def provisioned_groups(session: Session, *, org_id: str) -> Sequence[Group]:
    """The groups the identity provider pushed through SCIM (they carry its externalId)."""
    return session.scalars(in_org(Group, org_id).where(Group.external_id.is_not(None))).all()


def memberships_of(session: Session, *, org_id: str, user_id: str) -> dict[str, Membership]:
    rows = session.scalars(in_org(Membership, org_id).where(Membership.user_id == user_id))
    return {m.group_id: m for m in rows}
