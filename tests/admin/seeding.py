"""Seeding what the recommendations look for: memberships older than the 60 days of the access review
(backdated, as tests/reports does), and spend through groups written as the gateway's writer does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import update

from covey.kit.db import Database
from covey.models import Membership
from covey.reports.recommendations import INACTIVE_DAYS
from tests.conftest import Org
from tests.reports.usage_factory import month_start, usage, write


def backdate(db: Database, *user_ids: str, days: int = INACTIVE_DAYS + 30) -> None:
    """The people's memberships were all made `days` ago."""
    with db.transaction() as session:
        session.execute(
            update(Membership)
            .where(Membership.user_id.in_(user_ids))
            .values(added_at=datetime.now(UTC) - timedelta(days=days))
        )


def twin_teams(org: Org) -> str:
    """Two groups named Team, one under Left and one under Right, told apart only by their paths; returns
    Left › Team."""
    team = org.group("Team", parent_id=org.group("Left"))
    org.group("Team", parent_id=org.group("Right"))
    return team


def inactive_member(db: Database, org: Org) -> tuple[str, str]:
    """idle-<org>@example.com, a member of Left › Team (of `twin_teams`) for longer than the access review
    allows: the team and the person."""
    team = twin_teams(org)
    idle = org.user(f"idle-{org.id[:8]}@example.com")
    org.add_member(team, idle)
    backdate(db, idle)
    return team, idle


class GroupsOfALead(NamedTuple):
    """`lead` is the admin of `mine`; `mine_idle` and `their_idle` are inactive members of `mine` and of
    `theirs`, a group the lead does not manage."""

    mine: str
    theirs: str
    lead: str
    mine_idle: str
    their_idle: str


def groups_of_a_lead(db: Database, org: Org) -> GroupsOfALead:
    mine, theirs = org.group("Mine"), org.group("Theirs")
    lead = org.user()
    org.add_member(mine, lead, role="admin")
    mine_idle, their_idle = org.user(), org.user()
    org.add_member(mine, mine_idle)
    org.add_member(theirs, their_idle)
    backdate(db, mine_idle, their_idle)
    return GroupsOfALead(mine=mine, theirs=theirs, lead=lead, mine_idle=mine_idle, their_idle=their_idle)


def spend(db: Database, org: Org, user_id: str, charged: list[str], *, model: str, cost: int) -> None:
    """One request this month by the person through a key of `charged[0]` (its ancestors follow)."""
    write(
        db,
        [
            usage(
                org_id=org.id,
                key_id=f"k-{user_id[:8]}",
                user_id=user_id,
                charged=charged,
                at=month_start(),
                model=model,
                cost=cost,
            )
        ],
    )


def over_budget_off_its_list(db: Database, org: Org) -> str:
    """Spenders, a group of $100 a month whose member spent $150 this month on mock/claude-sonnet, a model
    its access list (mock/gpt-4o-mini alone) no longer allows: the group."""
    group = org.group("Spenders", monthly_budget="100")
    person = org.user()
    org.add_member(group, person)
    made = org.admin.post("/v1/manage/access-list", json={"name": f"minis-{group[:6]}", "chat": ["mock/gpt-4o-mini"]})
    assert org.admin.patch(f"/v1/manage/group/{group}", json={"access_list_id": made.json()["id"]}).status_code == 200
    spend(db, org, person, [group], model="mock/claude-sonnet", cost=150_000_000_000)
    return group


def email(org: Org, user_id: str) -> str:
    return str(org.admin.get(f"/v1/manage/user/{user_id}").json()["user"]["email"])


def members(org: Org, group_id: str) -> dict[str, str]:
    group = org.admin.get(f"/v1/manage/group/{group_id}").json()["group"]
    return {m["id"]: m["role"] for m in group["members"]}


def recommended(org: Org, kind: str) -> list[dict[str, Any]]:
    body = org.admin.get("/v1/manage/recommendations").json()
    return [r for r in body["recommendations"] if r["kind"] == kind]


def audited(org: Org, action: str, group_id: str) -> int:
    found = org.admin.get("/v1/manage/audit", params={"action": action, "target_id": group_id}).json()
    return int(found["total"])
