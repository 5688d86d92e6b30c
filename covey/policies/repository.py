from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from covey.models import RoutingPolicy, in_org


def list_all(session: Session, *, org_id: str) -> Sequence[RoutingPolicy]:
    return session.scalars(in_org(RoutingPolicy, org_id).order_by(RoutingPolicy.name)).all()


def get(session: Session, *, org_id: str, policy_id: str) -> RoutingPolicy | None:
    found: RoutingPolicy | None = session.scalar(in_org(RoutingPolicy, org_id).where(RoutingPolicy.id == policy_id))
    return found


def get_by_name(session: Session, *, org_id: str, name: str) -> RoutingPolicy | None:
    found: RoutingPolicy | None = session.scalar(in_org(RoutingPolicy, org_id).where(RoutingPolicy.name == name))
    return found


def add(session: Session, policy: RoutingPolicy) -> RoutingPolicy:
    session.add(policy)
    session.flush()
    return policy


def delete(session: Session, policy: RoutingPolicy) -> None:
    session.delete(policy)
    session.flush()
