"""The SQL the snapshot is compiled from: every key, user, group, list and policy, in one read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from covey.models import AccessList, ApiKey, Group, Membership, Organization, RoutingPolicy, User


@dataclass(frozen=True)
class ControlPlane:
    orgs: Sequence[Organization]
    users: Sequence[User]
    groups: Sequence[Group]
    memberships: Sequence[tuple[str, str]]  # (user id, group id)
    access_lists: Sequence[AccessList]
    keys: Sequence[ApiKey]
    policies: Sequence[RoutingPolicy]
    # Requesty's member `rate_limit` (requests per minute), where one is set: (user id, group id) → limit.
    member_rate_limits: Mapping[tuple[str, str], int] = field(default_factory=dict)


def load_control_plane(session: Session) -> ControlPlane:
    # cross-org: the gateway serves every organization from one compiled view.
    return ControlPlane(
        orgs=session.scalars(select(Organization)).all(),
        users=session.scalars(select(User)).all(),
        groups=session.scalars(select(Group)).all(),
        memberships=[(u, g) for u, g in session.execute(select(Membership.user_id, Membership.group_id))],
        access_lists=session.scalars(select(AccessList)).all(),
        keys=session.scalars(select(ApiKey)).all(),
        policies=session.scalars(select(RoutingPolicy)).all(),
        member_rate_limits={
            (u, g): limit
            for u, g, limit in session.execute(
                select(Membership.user_id, Membership.group_id, Membership.rate_limit).where(
                    Membership.rate_limit.is_not(None)
                )
            )
            if limit is not None
        },
    )
