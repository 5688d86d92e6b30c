"""Naming things on the command line the way people know them: users by email, groups by path."""

from __future__ import annotations

from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.groups import repository as groups_repo
from covey.groups import service as groups
from covey.groups import tree
from covey.kit.errors import NotFound
from covey.models import Group, User
from covey.users import repository as users_repo


def find_user(session: Session, caller: Caller, ref: str) -> User:
    """A user by id or email."""
    user = users_repo.get(session, org_id=caller.org_id, user_id=ref)
    if user is None and "@" in ref:
        user = users_repo.get_by_email(session, org_id=caller.org_id, email=ref)
    if user is None:
        raise NotFound(f"no user {ref} in this organization")
    return user


def find_group(session: Session, caller: Caller, ref: str) -> Group:
    """A group by id or by path from the top, such as `Engineering/Backend Engineers`."""
    group = groups_repo.get(session, org_id=caller.org_id, group_id=ref)
    if group is None:
        group = groups.find_by_path(session, org_id=caller.org_id, path=ref)
    if group is None:
        raise NotFound(f"no group {ref} in this organization (give its id or its path, e.g. Engineering/Backend)")
    return group


def find_org_owner(session: Session, caller: Caller) -> User:
    """Whom a key is made for when the command does not say."""
    owners, _ = users_repo.search(
        session,
        org_id=caller.org_id,
        q=None,
        role="owner",
        status="active",
        group_ids=None,
        visible_to_groups=None,
        visible_user_id=None,
        limit=1,
        offset=0,
    )
    if not owners:
        raise NotFound("this organization has no active owner: pass --owner")
    return owners[0]


def group_paths(session: Session, caller: Caller) -> dict[str, str]:
    """Every group's path from the top, by id: how a listing names a group."""
    found = {g.id: g for g in groups_repo.all_in_org(session, org_id=caller.org_id)}
    parent_of = {gid: g.parent_id for gid, g in found.items()}
    return {gid: "/".join(found[a].name for a in reversed(tree.chain(parent_of, gid))) for gid in found}
