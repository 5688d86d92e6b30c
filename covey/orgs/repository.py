from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from covey.models import Organization


def get(session: Session, org_id: str) -> Organization | None:
    return session.get(Organization, org_id)


def add(session: Session, org: Organization) -> Organization:
    session.add(org)
    session.flush()
    return org


def by_name(session: Session, name: str) -> Sequence[Organization]:
    return session.scalars(
        select(Organization).where(Organization.name == name).order_by(Organization.created_at)
    ).all()


def all_orgs(session: Session) -> Sequence[Organization]:
    return session.scalars(select(Organization).order_by(Organization.created_at)).all()
