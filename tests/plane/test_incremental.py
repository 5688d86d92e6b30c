"""Incremental catch-ups give exactly what a full rebuild gives, and cost what the change touched:
after each kind of change made through the management API, the plane that applied only the journal
equals one compiled from scratch, grant for grant and line for line."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import update

from covey.config import Settings
from covey.kit.db import Database
from covey.models import ApiKey
from covey.plane import repository
from covey.plane.runtime import ControlPlane
from covey.plane.state import Plane
from tests.conftest import Org

CATALOG = frozenset({"mock/gpt-4o-mini", "mock/gpt-4o", "mock/text-embedding-3-small", "other/model"})


@pytest.fixture
def plane(db: Database, settings: Settings) -> Iterator[ControlPlane]:
    built = ControlPlane(db, catalog=CATALOG, settings=settings, guard=None)
    built.rebuild()
    yield built


def from_scratch(db: Database) -> Plane:
    with db.sessions() as session:
        revision = repository.current_revision(session)
        return Plane.build(repository.everything(session), catalog=CATALOG, revision=revision)


def assert_same(plane: ControlPlane, db: Database) -> None:
    fresh = from_scratch(db)
    got = plane.current
    assert got.revision == fresh.revision
    assert got.grants == fresh.grants
    assert dict(got.book.lines) == dict(fresh.book.lines)
    assert dict(got.book.timezones) == dict(fresh.book.timezones)
    assert got.policies == fresh.policies


def step(plane: ControlPlane, db: Database, change: Callable[[], object], *, at_most: int) -> None:
    """Makes the change, catches up incrementally (no rebuild), recompiling at most `at_most` grants."""
    rebuilds, recompiled = plane.stats.rebuilds, plane.stats.recompiled
    change()
    assert plane.catch_up()
    assert plane.stats.rebuilds == rebuilds, "the change should have been applied incrementally"
    assert plane.stats.recompiled - recompiled <= at_most
    assert_same(plane, db)


def ok(response: object) -> dict[str, object]:
    status = getattr(response, "status_code", None)
    assert status in (200, 204), getattr(response, "text", response)
    return response.json() if status == 200 else {}  # type: ignore[attr-defined]


def test_every_kind_of_change_matches_a_full_rebuild(plane: ControlPlane, db: Database, org: Org) -> None:
    api = org.admin
    users = [org.user() for _ in range(6)]
    top = org.group(f"Top {uuid.uuid4().hex[:6]}")
    mid = org.group(f"Mid {uuid.uuid4().hex[:6]}", parent_id=top)
    leaf = org.group(f"Leaf {uuid.uuid4().hex[:6]}", parent_id=mid)
    other = org.group(f"Other {uuid.uuid4().hex[:6]}")
    for user, group in zip(users, [top, mid, leaf, leaf, other, mid], strict=True):
        org.add_member(group, user)
    keys: list[str] = []
    for user, group in zip(users, [top, mid, leaf, top, other, top], strict=True):
        made = ok(
            api.post("/v1/manage/apikey", json={"name": uuid.uuid4().hex[:8], "owner_id": user, "group_id": group})
        )
        keys.append(str(made["api_key_id"]))
    assert plane.catch_up()
    assert_same(plane, db)

    def new_key() -> None:
        ok(api.post("/v1/manage/apikey", json={"name": "one more", "owner_id": users[0], "group_id": top}))

    step(plane, db, new_key, at_most=1)
    step(plane, db, lambda: ok(api.delete(f"/v1/manage/apikey/{keys[0]}")), at_most=1)
    step(plane, db, lambda: ok(api.post(f"/v1/manage/apikey/{keys[1]}/limit", json={"monthly_limit": 5})), at_most=1)
    step(plane, db, lambda: ok(api.post(f"/v1/manage/user/{users[1]}/deactivate")), at_most=1)
    step(plane, db, lambda: ok(api.post(f"/v1/manage/user/{users[1]}/activate")), at_most=1)
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/user/{users[2]}", json={"monthly_limit": 7})), at_most=1)
    step(plane, db, lambda: ok(api.delete(f"/v1/manage/group/{leaf}/member/{users[3]}")), at_most=1)
    step(plane, db, lambda: org.add_member(leaf, users[3]), at_most=1)
    # A group's budget reaches the book only; its features reach the keys under it.
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/group/{mid}", json={"monthly_budget": "3.00"})), at_most=0)
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/group/{mid}", json={"features": {"tools": False}})), at_most=3)
    # Rate limits: a group's per-member limits reach its subtree's keys; a member's own only theirs.
    limits = {"rate_limits_per_member": {"requests_per_minute": 30}, "rate_limits": {"concurrent": 4}}
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/group/{mid}", json=limits)), at_most=3)
    member_limit = {"rate_limit": 10}
    step(
        plane,
        db,
        lambda: ok(api.put(f"/v1/manage/group/{mid}/member/{users[1]}/rate-limit", json=member_limit)),
        at_most=1,
    )
    step(
        plane,
        db,
        lambda: ok(api.patch(f"/v1/manage/group/{mid}", json={"name": f"Renamed {uuid.uuid4().hex[:4]}"})),
        at_most=3,
    )
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/group/{top}", json={"guardrails": {"pii": "mask"}})), at_most=6)
    step(plane, db, lambda: ok(api.patch("/v1/manage/org", json={"guardrails": {"secrets": "block"}})), at_most=8)
    made = ok(api.post("/v1/manage/access-list", json={"name": uuid.uuid4().hex[:8], "chat": ["mock/*"]}))
    listed = str(made["id"])
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/group/{top}", json={"access_list_id": listed})), at_most=6)
    step(
        plane, db, lambda: ok(api.patch(f"/v1/manage/access-list/{listed}", json={"chat": ["mock/gpt-4o"]})), at_most=6
    )
    # Moving a subtree: its keys, and every key of its members (their effective groups changed).
    step(plane, db, lambda: ok(api.patch(f"/v1/manage/group/{mid}", json={"parent_id": other})), at_most=7)
    # The org's approved models: every key of the org (its owner's admin key too), and only those.
    step(plane, db, lambda: ok(api.patch("/v1/manage/org", json={"approved_models": ["mock/gpt-4o-mini"]})), at_most=8)
    policy = {"name": f"p{uuid.uuid4().hex[:6]}", "type": "fallback", "targets": [{"model": "mock/gpt-4o"}]}
    step(plane, db, lambda: ok(api.post("/v1/manage/policy", json=policy)), at_most=0)
    line = {"owner_type": "group", "owner_id": top, "amount": "2.50", "enforcement": "soft", "period": "week"}
    step(plane, db, lambda: ok(api.post("/v1/manage/budget", json=line)), at_most=0)
    step(plane, db, lambda: ok(api.delete(f"/v1/manage/group/{mid}", params={"recursive": "true"})), at_most=7)


def test_a_bulk_statement_that_names_nothing_rebuilds(plane: ControlPlane, db: Database, org: Org) -> None:
    made = ok(org.admin.post("/v1/manage/apikey", json={"name": "bulk"}))
    plane.catch_up()
    with db.transaction() as session:
        session.execute(update(ApiKey).where(ApiKey.id == made["api_key_id"]).values(logging=True))
    rebuilds = plane.stats.rebuilds
    assert plane.catch_up()
    assert plane.stats.rebuilds == rebuilds + 1
    assert_same(plane, db)


def test_stamping_last_use_moves_nothing(plane: ControlPlane, db: Database, org: Org) -> None:
    made = ok(org.admin.post("/v1/manage/apikey", json={"name": "used"}))
    plane.catch_up()
    with db.transaction() as session:
        session.execute(update(ApiKey).where(ApiKey.id == made["api_key_id"]).values(last_used_at=None))
    assert not plane.catch_up()


def test_a_gap_in_the_journal_rebuilds(plane: ControlPlane, db: Database, org: Org) -> None:
    plane.catch_up()
    ok(org.admin.post("/v1/manage/apikey", json={"name": "gap"}))
    with db.transaction() as session:
        repository.prune_changes(session, below=repository.current_revision(session) + 1)
    rebuilds = plane.stats.rebuilds
    assert plane.catch_up()
    assert plane.stats.rebuilds == rebuilds + 1
    assert_same(plane, db)


def test_a_rolled_back_change_writes_no_revision(plane: ControlPlane, db: Database, org: Org) -> None:
    plane.catch_up()
    with db.sessions() as session:
        before = repository.current_revision(session)
    with pytest.raises(RuntimeError), db.transaction() as session:
        session.add(ApiKey(org_id=org.id, name="never", key_hash=uuid.uuid4().hex, prefix="x", owner_id=org.owner_id))
        session.flush()
        raise RuntimeError("abandoned")
    with db.sessions() as session:
        assert repository.current_revision(session) == before
    assert not plane.catch_up()
