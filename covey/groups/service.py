"""Rules about groups and memberships: the tree's shape, who may change what, and one audit event per change.

Every function takes `(session, caller, ...)`, only flushes (the caller's transaction commits), and
raises before writing anything, so a refused request changes nothing. Ids named in a request are looked
up before rights are weighed, so another org's id answers 404 whoever asks.

Who: org owners and admins everything. A group admin manages their group and its subtree (members,
roles, settings, subgroups, moves within it), but cannot delete or move the top group they administer,
make a group `default` (every new user of the org would join it), or put on or take off a `restricted`
access list. Members read the groups they belong to and their ancestors.

Audit actions: `group.create`, `group.update`, `group.delete` (a recursive delete is one event on the
group asked for, its `before` listing the removed subgroups and memberships), `group.member.add`
(a bulk add writes one such event per user it added), `group.member.role`, `group.member.remove`,
`group.member.move` (one event, on the source group, `before` and `after` naming both groups).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth import authority
from covey.auth.caller import Caller
from covey.auth.permissions import loosens
from covey.groups import repository, views
from covey.groups import tree as tree_rules
from covey.groups.schemas import BulkAddResult, GroupCreate, GroupDetail, GroupOut, GroupUpdate, MemberOut, TreeNode
from covey.guardrails.schemas import check_not_weakened
from covey.kit.clock import utcnow
from covey.kit.errors import Conflict, Forbidden, NotFound
from covey.kit.fields import limit_nanos
from covey.models import MAX_DEPTH, AccessList, Group, Membership, User
from covey.ratelimits.schemas import check_not_raised, merged
from covey.users import repository as users_repo

# --- reading -------------------------------------------------------------------------------------


def _get(session: Session, caller: Caller, group_id: str, *, message: str = "group not found") -> Group:
    group = repository.get(session, org_id=caller.org_id, group_id=group_id)
    if group is None:
        raise NotFound(message)
    return group


def get_readable(session: Session, caller: Caller, group_id: str) -> Group:
    group = _get(session, caller, group_id)
    if not caller.scope.can_read_group(group.id):
        raise Forbidden("You may not see this group")
    return group


def _require_manage(caller: Caller, group: Group) -> None:
    if not caller.scope.can_manage_group(group.id):
        raise Forbidden(f'Managing group "{group.name}" needs the org admin role or the group admin role')


def _get_managed(session: Session, caller: Caller, group_id: str) -> Group:
    group = _get(session, caller, group_id)
    _require_manage(caller, group)
    return group


def list_visible(session: Session, caller: Caller) -> list[GroupOut]:
    counts = repository.member_counts(session, org_id=caller.org_id)
    now = utcnow()
    return [
        views.group_out(g, members_count=counts.get(g.id, 0), now=now)
        for g in repository.all_in_org(session, org_id=caller.org_id)
        if caller.scope.can_read_group(g.id)
    ]


def describe(session: Session, caller: Caller, group: Group) -> GroupOut:
    members = repository.member_user_ids(session, org_id=caller.org_id, group_id=group.id)
    return views.group_out(group, members_count=len(members), now=utcnow())


def detail(session: Session, caller: Caller, group_id: str) -> GroupDetail:
    group = get_readable(session, caller, group_id)
    members = repository.members_with_users(session, org_id=caller.org_id, group_id=group.id)
    return views.group_detail(group, members, now=utcnow())


def describe_member(session: Session, caller: Caller, membership: Membership) -> MemberOut:
    user = users_repo.get(session, org_id=caller.org_id, user_id=membership.user_id)
    assert user is not None  # memberships cascade with their user
    return views.member_out(membership, user)


def tree(session: Session, caller: Caller) -> list[TreeNode]:
    """The part of the org's tree the caller may read, nested."""
    groups = repository.all_in_org(session, org_id=caller.org_id)
    visible = {g.id for g in groups if caller.scope.can_read_group(g.id)}
    memberships = repository.all_memberships(session, org_id=caller.org_id)
    return views.tree_nodes(groups, visible=visible, memberships=memberships, now=utcnow())


def find_by_path(session: Session, *, org_id: str, path: str) -> Group | None:
    """`"Engineering/Backend Engineers"`: walk down from the top level, names matched case-insensitively
    (sibling names are unique that way). A name that itself contains `/` cannot be found by path."""
    names = [part.strip() for part in path.strip().strip("/").split("/")]
    if not names or any(not n for n in names):
        return None
    found: Group | None = None
    for name in names:
        siblings = repository.children_of(session, org_id=org_id, parent_id=found.id if found else None)
        found = next((g for g in siblings if g.name.lower() == name.lower()), None)
        if found is None:
            return None
    return found


# --- the tree's rules ----------------------------------------------------------------------------


def _check_name_free(
    session: Session, caller: Caller, *, name: str, parent: Group | None, exclude_id: str | None = None
) -> None:
    siblings = repository.children_of(session, org_id=caller.org_id, parent_id=parent.id if parent else None)
    if any(s.id != exclude_id and s.name.lower() == name.lower() for s in siblings):
        where = f'under "{parent.name}"' if parent else "at the top level"
        raise Conflict(f'a group named "{name}" already exists {where}')


def _check_placement(session: Session, caller: Caller, *, group: Group | None, parent: Group | None) -> None:
    """No cycles, and no deeper than MAX_DEPTH levels once the group (and its subtree) sits under `parent`."""
    if parent is None:
        parent_depth = 0
    else:
        parent_of = repository.parent_map(session, org_id=caller.org_id)
        if group is not None and tree_rules.would_cycle(parent_of, group.id, parent.id):
            if parent.id == group.id:
                raise Conflict(f'group "{group.name}" cannot be its own parent')
            raise Conflict(f'cannot move group "{group.name}" under "{parent.name}", which is inside it (a cycle)')
        parent_depth = tree_rules.depth(parent_of, parent.id)
    height = 1
    if group is not None:
        height = tree_rules.height(repository.parent_map(session, org_id=caller.org_id), group.id)
    if parent_depth + height > MAX_DEPTH:
        raise Conflict(f"groups nest at most {MAX_DEPTH} levels deep; this would make {parent_depth + height}")


def _parent(session: Session, caller: Caller, parent_id: str | None) -> Group | None:
    if parent_id is None:
        return None
    return _get(session, caller, parent_id, message=f"parent group {parent_id} not found")


def _access_list(session: Session, caller: Caller, access_list_id: str) -> AccessList:
    found = repository.get_access_list(session, org_id=caller.org_id, access_list_id=access_list_id)
    if found is None:
        raise NotFound(f"access list {access_list_id} not found")
    return found


def _check_access_list(session: Session, caller: Caller, *, new_id: str | None, old_id: str | None) -> None:
    """The list must be this org's; restricted lists are put on or taken off only by org admins."""
    if new_id == old_id:
        return
    for list_id in (old_id, new_id):
        if list_id is None:
            continue
        found = (
            _access_list(session, caller, list_id)
            if list_id == new_id
            else repository.get_access_list(session, org_id=caller.org_id, access_list_id=list_id)
        )
        if found is not None and found.restricted:
            caller.require_org_admin(f'Attaching or detaching the restricted access list "{found.name}"')


# --- changing groups -----------------------------------------------------------------------------


def create(session: Session, caller: Caller, data: GroupCreate) -> Group:
    parent = _parent(session, caller, data.parent_id)
    if data.access_list_id is not None:
        _access_list(session, caller, data.access_list_id)
    if parent is None:
        caller.require_org_admin("Creating a top-level group")
    elif not caller.scope.can_manage_group(parent.id):
        raise Forbidden(f'Creating a group under "{parent.name}" needs the org admin role or the group admin role')
    if data.default:
        caller.require_org_admin("Making a group default (every new user joins it)")
    _check_access_list(session, caller, new_id=data.access_list_id, old_id=None)
    _check_name_free(session, caller, name=data.name, parent=parent)
    _check_placement(session, caller, group=None, parent=parent)
    per_user = data.monthly_limit if "monthly_limit" in data.model_fields_set else data.monthly_budget_per_user
    group = repository.add(
        session,
        Group(
            org_id=caller.org_id,
            parent_id=parent.id if parent else None,
            name=data.name,
            description=data.description,
            kind=data.kind,
            is_default=data.default,
            expires_at=data.expires_at,
            access_list_id=data.access_list_id,
            features=dict(data.features),
            monthly_budget=limit_nanos(data.monthly_budget),
            monthly_budget_per_user=limit_nanos(per_user),
            external_id=data.external_id,
            rate_limits=merged(None, data.rate_limits) if data.rate_limits else None,
            rate_limits_per_member=merged(None, data.rate_limits_per_member) if data.rate_limits_per_member else None,
            guardrails=dict(data.guardrails) if data.guardrails else None,
            created_by=caller.actor.id,
            budget_set_by=caller.user_id or None,
            budget_per_user_set_by=caller.user_id or None,
            expiry_set_by=caller.user_id or None,
        ),
    )
    audit.record(session, caller, "group.create", "group", group.id, after=views.snapshot(group))
    return group


def update(session: Session, caller: Caller, group_id: str, data: GroupUpdate) -> Group:
    # Everything the body names is looked up first: an unknown (or another org's) id answers 404
    # whatever the caller's role, so a refusal never tells what exists.
    group = _get(session, caller, group_id)
    fields = data.model_dump(exclude_unset=True)
    scope = caller.scope
    moving = "parent_id" in fields and fields["parent_id"] != group.parent_id
    parent = _parent(session, caller, fields["parent_id"]) if moving else None
    if fields.get("access_list_id") is not None:
        _access_list(session, caller, fields["access_list_id"])
    _require_manage(caller, group)
    # Moving takes the group out of its current place and into another: both must be the caller's.
    new_place = parent.id if parent else None
    if moving and not (scope.can_manage_under(group.parent_id) and scope.can_manage_under(new_place)):
        raise Forbidden(f'Moving group "{group.name}" there needs the org admin role')
    if "default" in fields and fields["default"] != group.is_default:
        caller.require_org_admin("Changing whether a group is default (every new user joins it)")
    if "access_list_id" in fields:
        _check_access_list(session, caller, new_id=fields["access_list_id"], old_id=group.access_list_id)

    if moving:
        _check_placement(session, caller, group=group, parent=parent)
    new_name = fields.get("name", group.name)
    if moving or new_name.lower() != group.name.lower():
        target = parent if moving else _parent(session, caller, group.parent_id)
        _check_name_free(session, caller, name=new_name, parent=target, exclude_id=group.id)

    setters = _setters(session, caller, group, fields)
    before = views.snapshot(group)
    _apply(group, fields, data)
    for column, setter in setters.items():
        setattr(group, column, setter)
    # What an admin above set, the group's own admins may tighten, never loosen.
    above = scope.can_manage_under(group.parent_id)
    check_not_raised(before["rate_limits"], group.rate_limits, may_raise=above, what="rate_limits")
    check_not_raised(
        before["rate_limits_per_member"], group.rate_limits_per_member, may_raise=above, what="rate_limits_per_member"
    )
    check_not_weakened(before["guardrails"], group.guardrails, may_weaken=above)
    session.flush()
    after = views.snapshot(group)
    if after != before:
        audit.record(session, caller, "group.update", "group", group.id, before=before, after=after)
    return group


_COLUMNS = {"default": "is_default"}
# (field as the API names it, the column it sets, the column naming who set it)
_LIMITS = (
    ("monthly_budget", "monthly_budget", "budget_set_by"),
    ("monthly_budget_per_user", "monthly_budget_per_user", "budget_per_user_set_by"),
    ("monthly_limit", "monthly_budget_per_user", "budget_per_user_set_by"),
    ("expires_at", "expires_at", "expiry_set_by"),
)


def _setters(session: Session, caller: Caller, group: Group, fields: dict[str, Any]) -> dict[str, str | None]:
    """docs/design.md §2, §4: a budget or expiry set by someone whose rights the caller's do not include may
    be lowered or shortened, never raised, removed or extended. Answers who has set each afterwards."""
    out: dict[str, str | None] = {}
    for name, column, set_by in _LIMITS:
        if name not in fields:
            continue
        new = limit_nanos(fields[name]) if column != "expires_at" else fields[name]
        setter = authority.setter_after(
            session, caller, field=name, setter_id=getattr(group, set_by), loosens=loosens(getattr(group, column), new)
        )
        out[set_by] = setter if new is not None else None
    return out


def _apply(group: Group, fields: dict[str, Any], data: GroupUpdate) -> None:
    for name, value in fields.items():
        if name == "rate_limits" and data.rate_limits is not None:
            group.rate_limits = merged(group.rate_limits, data.rate_limits)
        elif name == "rate_limits_per_member" and data.rate_limits_per_member is not None:
            group.rate_limits_per_member = merged(group.rate_limits_per_member, data.rate_limits_per_member)
        elif name == "guardrails" and data.guardrails is not None:
            changed: dict[str, Any] = {str(c): v for c, v in data.guardrails.items()}
            group.guardrails = {**(group.guardrails or {}), **changed}
        elif name in ("monthly_limit", "monthly_budget_per_user"):
            group.monthly_budget_per_user = limit_nanos(value)
        elif name == "monthly_budget":
            group.monthly_budget = limit_nanos(value)
        elif name == "features":
            group.features = dict(value)
        else:
            setattr(group, _COLUMNS.get(name, name), value)


def delete(session: Session, caller: Caller, group_id: str, *, recursive: bool = False) -> None:
    """Delete a group; with `recursive`, its whole subtree. Memberships go with the groups; keys that
    point at a deleted group keep its id and grant nothing."""
    group = _get_managed(session, caller, group_id)
    scope = caller.scope
    if not scope.can_manage_under(group.parent_id):
        raise Forbidden(f'Deleting group "{group.name}" needs the org admin role or admin of a group above it')
    parent_of = repository.parent_map(session, org_id=caller.org_id)
    subtree = tree_rules.descendants(parent_of, group.id)
    if len(subtree) > 1 and not recursive:
        raise Conflict(
            f'group "{group.name}" has {len(subtree) - 1} subgroup(s); delete them first or pass recursive=true'
        )
    levels: dict[int, list[str]] = {}
    for gid in subtree:
        levels.setdefault(tree_rules.depth(parent_of, gid), []).append(gid)
    groups = repository.groups_by_id(session, org_id=caller.org_id, group_ids=sorted(subtree))
    members = views.members_by_group(repository.memberships_of_groups(session, org_id=caller.org_id, group_ids=subtree))
    before: dict[str, Any] = {**views.snapshot(group), "members": members.get(group.id, [])}
    if recursive:
        before["subgroups"] = [
            {**views.snapshot(groups[gid]), "members": members.get(gid, [])}
            for gid in sorted(subtree - {group.id}, key=lambda g: (tree_rules.depth(parent_of, g), groups[g].name))
        ]
    repository.delete_groups(session, org_id=caller.org_id, levels=[levels[d] for d in sorted(levels, reverse=True)])
    audit.record(session, caller, "group.delete", "group", group_id, before=before)


# --- memberships ---------------------------------------------------------------------------------


def path_of(session: Session, *, org_id: str, group: Group) -> str:
    """How messages name a group: its path from the top level, "Engineering › Backend" (names repeat
    under different parents)."""
    parent_of = repository.parent_map(session, org_id=org_id)
    chain = tree_rules.chain(parent_of, group.id)
    names = {g.id: g.name for g in repository.groups_by_id(session, org_id=org_id, group_ids=chain).values()}
    return tree_rules.path(parent_of, names, group.id)


def _person(user: User) -> str:
    """How messages name a person: by name, else by email or user name."""
    return user.name or user.label


def _user(session: Session, caller: Caller, user_id: str) -> User:
    user = users_repo.get(session, org_id=caller.org_id, user_id=user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def _membership(session: Session, caller: Caller, group: Group, user_id: str) -> Membership:
    membership = repository.get_membership(session, org_id=caller.org_id, group_id=group.id, user_id=user_id)
    if membership is None:
        user = users_repo.get(session, org_id=caller.org_id, user_id=user_id)
        who = _person(user) if user is not None else f"user {user_id}"
        raise NotFound(f"{who} is not a member of {path_of(session, org_id=caller.org_id, group=group)}")
    return membership


def _new_membership(session: Session, caller: Caller, group: Group, user_id: str, role: str) -> Membership:
    return repository.add_membership(
        session,
        Membership(org_id=caller.org_id, group_id=group.id, user_id=user_id, role=role, added_by=caller.actor.id),
    )


def candidates(
    session: Session, caller: Caller, group_id: str, *, q: str | None, limit: int
) -> tuple[list[User], set[str]]:
    """People the group's admins may add to it: any active person of the org, whether or not the caller
    could otherwise see them (a group admin adds from the whole org), and which of them are members
    already. Only for a caller who manages the group; what the panel shows of them is name and email."""
    group = _get_managed(session, caller, group_id)
    rows, _ = users_repo.search(
        session,
        org_id=caller.org_id,
        q=q,
        role=None,
        status="active",
        group_ids=None,
        visible_to_groups=None,
        visible_user_id=None,
        limit=limit,
        offset=0,
    )
    found = [u.id for u in rows]
    members = repository.member_ids_among(session, org_id=caller.org_id, group_id=group.id, user_ids=found)
    return list(rows), members


def add_member(session: Session, caller: Caller, group_id: str, *, user_id: str, role: str = "member") -> Membership:
    group = _get(session, caller, group_id)
    user = _user(session, caller, user_id)
    _require_manage(caller, group)
    if repository.get_membership(session, org_id=caller.org_id, group_id=group.id, user_id=user.id):
        raise Conflict(f"{_person(user)} is already a member of {path_of(session, org_id=caller.org_id, group=group)}")
    membership = _new_membership(session, caller, group, user.id, role)
    audit.record(session, caller, "group.member.add", "group", group.id, after=views.membership_snapshot(membership))
    return membership


def bulk_add(
    session: Session,
    caller: Caller,
    group_id: str,
    *,
    user_ids: Iterable[str],
    role: str = "member",
    managed_by_idp: bool = False,
) -> BulkAddResult:
    """All or nothing: one unknown (or another org's) user id refuses the whole request. Users already
    in the group are reported and left as they are. One `group.member.add` event per user added.
    `managed_by_idp` marks memberships the identity provider added (docs/design.md §2)."""
    group = _get(session, caller, group_id)
    wanted = list(dict.fromkeys(user_ids))
    known = users_repo.existing_ids(session, org_id=caller.org_id, user_ids=wanted)
    unknown = [uid for uid in wanted if uid not in known]
    if len(unknown) == 1:
        raise NotFound(f"user {unknown[0]} not found; nobody was added")
    if unknown:
        raise NotFound(f"users not found: {', '.join(unknown)}; nobody was added")
    _require_manage(caller, group)
    already = repository.member_ids_among(session, org_id=caller.org_id, group_id=group.id, user_ids=wanted)
    added = [uid for uid in wanted if uid not in already]
    memberships = [
        Membership(
            org_id=caller.org_id,
            group_id=group.id,
            user_id=uid,
            role=role,
            added_by=caller.actor.id,
            managed_by_idp=managed_by_idp,
        )
        for uid in added
    ]
    repository.add_memberships(session, memberships)
    for membership in memberships:
        audit.record(
            session, caller, "group.member.add", "group", group.id, after=views.membership_snapshot(membership)
        )
    return BulkAddResult(added=added, already_members=[uid for uid in wanted if uid in already])


def set_role(session: Session, caller: Caller, group_id: str, *, user_id: str, role: str) -> Membership:
    group = _get(session, caller, group_id)
    _user(session, caller, user_id)
    _require_manage(caller, group)
    membership = _membership(session, caller, group, user_id)
    if membership.role == role:
        return membership
    before = views.membership_snapshot(membership)
    membership.role = role
    session.flush()
    audit.record(
        session,
        caller,
        "group.member.role",
        "group",
        group.id,
        before=before,
        after=views.membership_snapshot(membership),
    )
    return membership


def set_member_rate_limit(
    session: Session, caller: Caller, group_id: str, *, user_id: str, rate_limit: int | None
) -> Membership:
    """Requesty's member `rate_limit`: requests per minute for one member through the group, on top of
    the group's per-member limits (the lower holds)."""
    group = _get(session, caller, group_id)
    membership = _membership(session, caller, group, user_id)
    _require_manage(caller, group)
    scope = caller.scope
    above = scope.can_manage_under(group.parent_id)
    new = rate_limit or None
    old = membership.rate_limit
    check_not_raised(
        {"requests_per_minute": old} if old else None,
        {"requests_per_minute": new} if new else None,
        may_raise=above,
        what="rate_limit",
    )
    before = views.membership_snapshot(membership)
    membership.rate_limit = new
    session.flush()
    audit.record(
        session,
        caller,
        "group.member.rate_limit",
        "group",
        group.id,
        before=before,
        after=views.membership_snapshot(membership),
    )
    return membership


def remove_member(session: Session, caller: Caller, group_id: str, *, user_id: str) -> User:
    """Answers the person removed (whom a group admin may no longer see once out of their groups)."""
    group = _get(session, caller, group_id)
    user = _user(session, caller, user_id)
    _require_manage(caller, group)
    membership = _membership(session, caller, group, user_id)
    before = views.membership_snapshot(membership)
    repository.remove_membership(session, org_id=caller.org_id, group_id=group.id, user_id=membership.user_id)
    audit.record(session, caller, "group.member.remove", "group", group.id, before=before)
    return user


def move_member(
    session: Session, caller: Caller, group_id: str, *, user_id: str, to_group_id: str, role: str | None = None
) -> Membership:
    """Out of one group and into another in the same transaction; the role stays unless one is given."""
    source = _get(session, caller, group_id)
    target = _get(session, caller, to_group_id, message=f"group {to_group_id} not found")
    user = _user(session, caller, user_id)
    _require_manage(caller, source)
    _require_manage(caller, target)
    old = _membership(session, caller, source, user_id)
    if repository.get_membership(session, org_id=caller.org_id, group_id=target.id, user_id=old.user_id):
        raise Conflict(f"{_person(user)} is already a member of {path_of(session, org_id=caller.org_id, group=target)}")
    before = views.membership_snapshot(old)
    new_role = role or old.role
    repository.remove_membership(session, org_id=caller.org_id, group_id=source.id, user_id=old.user_id)
    membership = _new_membership(session, caller, target, old.user_id, new_role)
    audit.record(
        session,
        caller,
        "group.member.move",
        "group",
        source.id,
        before=before,
        after=views.membership_snapshot(membership),
    )
    return membership
