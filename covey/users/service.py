"""Rules about users: creating them (into every default group), updating, deactivating."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth import authority
from covey.auth.caller import Caller
from covey.auth.permissions import loosens
from covey.groups import repository as groups_repo
from covey.groups import tree
from covey.kit.clock import utcnow
from covey.kit.crypto import new_password
from covey.kit.errors import BadRequest, Conflict, Forbidden, NotFound
from covey.kit.fields import limit_nanos
from covey.kit.pagination import Page
from covey.models import Membership, User
from covey.orgs import repository as orgs_repo
from covey.ratelimits.schemas import merged
from covey.users import repository
from covey.users.schemas import UserCreate, UserGroupRef, UserGroups, UserOut, UserUpdate


def snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user."""
    return UserOut.of(user).model_dump(mode="json")


def get_visible(session: Session, caller: Caller, user_id: str) -> User:
    user = repository.get(session, org_id=caller.org_id, user_id=user_id)
    if user is None:
        raise NotFound("user not found")
    groups = [m.group_id for m in groups_repo.memberships_of_user(session, org_id=caller.org_id, user_id=user.id)]
    if not caller.scope.can_read_user(user.id, groups):
        raise Forbidden("You may not see this user")
    return user


def create(session: Session, caller: Caller, data: UserCreate, *, password_hash: str | None = None) -> User:
    return create_many(session, caller, [data], password_hashes=[password_hash])[0]


def create_many(
    session: Session,
    caller: Caller,
    items: Sequence[UserCreate],
    *,
    password_hashes: Sequence[str | None] | None = None,
) -> list[User]:
    """Create users, each joining every default group, in a few batched statements whatever their number.
    All or nothing: one refused item refuses them all."""
    caller.require_org_admin("Creating users")
    emails = [d.email for d in items if d.email]
    user_names = [name for d in items if (name := _own_user_name(d) or d.email)]
    external_ids = [d.external_id for d in items if d.external_id]
    for data in items:
        if not caller.scope.can_assign_org_role(data.role):
            raise Forbidden(f"Only an owner may make a user {data.role}")
    for taken in _duplicates(emails) + repository.taken_emails(session, org_id=caller.org_id, emails=emails):
        raise Conflict(f"a user with email {taken} already exists")
    for taken in _duplicates([n.lower() for n in user_names]) + repository.taken_user_names(
        session, org_id=caller.org_id, user_names=user_names
    ):
        raise Conflict(f"a user with user_name {taken} already exists")
    for taken in _duplicates(external_ids) + repository.taken_external_ids(
        session, org_id=caller.org_id, external_ids=external_ids
    ):
        raise Conflict(f"a user with external_id {taken} already exists")
    org = orgs_repo.get(session, caller.org_id)
    assert org is not None
    hashes = list(password_hashes or [None] * len(items))
    users = [
        User(
            org_id=caller.org_id,
            email=data.email,
            user_name=_own_user_name(data),
            name=data.name or (data.email.split("@")[0] if data.email else data.user_name or ""),
            role=data.role,
            monthly_limit=(
                limit_nanos(data.monthly_limit)
                if "monthly_limit" in data.model_fields_set
                else org.default_monthly_limit
            ),
            limit_set_by=(caller.user_id or None) if "monthly_limit" in data.model_fields_set else None,
            external_id=data.external_id,
            rate_limits=merged(None, data.rate_limits) if data.rate_limits is not None else None,
            password_hash=password_hash,
        )
        for data, password_hash in zip(items, hashes, strict=True)
    ]
    repository.add_all(session, users)
    for user in users:
        audit.record(session, caller, "user.create", "user", user.id, after=snapshot(user))
    _join_default_groups(session, caller, users)
    return users


def _own_user_name(data: UserCreate) -> str | None:
    """A user_name that is the email itself is not kept twice: the email answers for it."""
    if data.user_name is None or (data.email is not None and data.user_name.lower() == data.email):
        return None
    return data.user_name


def _duplicates(values: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen:
            repeated.append(value)
        seen.add(value)
    return repeated


def _join_default_groups(session: Session, caller: Caller, users: Sequence[User]) -> None:
    now = utcnow()
    groups = [g for g in groups_repo.default_groups(session, org_id=caller.org_id) if not g.is_expired(now)]
    memberships = [
        Membership(org_id=caller.org_id, group_id=g.id, user_id=u.id, role="member", added_by=caller.actor.id)
        for u in users
        for g in groups
    ]
    groups_repo.add_memberships(session, memberships)
    for membership in memberships:
        audit.record(
            session,
            caller,
            "group.member.add",
            "group",
            membership.group_id,
            after={"user_id": membership.user_id, "role": "member", "reason": "default group"},
        )


def update(session: Session, caller: Caller, user_id: str, data: UserUpdate) -> User:
    user = get_visible(session, caller, user_id)
    fields = data.model_dump(exclude_unset=True)
    is_self = user.id == caller.user_id
    if not caller.scope.is_org_admin and not (is_self and set(fields) <= {"name"}):
        raise Forbidden("Members may change only their own name")
    if user.role == "owner" and not caller.scope.is_owner:
        raise Forbidden("Only an owner may change an owner")
    if "role" in fields and fields["role"] is not None and not caller.scope.can_assign_org_role(fields["role"]):
        raise Forbidden(f"Only an owner may make a user {fields['role']}")
    if fields.get("email") and fields["email"] != user.email:
        _check_identity_free(session, caller, user, email=fields["email"], user_name=user.user_name or fields["email"])
    if "monthly_limit" in fields:
        new_limit = limit_nanos(fields["monthly_limit"])
        loosened = loosens(user.monthly_limit, new_limit)
        setter = authority.setter_after(
            session, caller, field="monthly_limit", setter_id=user.limit_set_by, loosens=loosened
        )
    before = snapshot(user)
    for name, value in fields.items():
        if name == "monthly_limit":
            user.monthly_limit, user.limit_set_by = new_limit, setter if new_limit is not None else None
        elif name == "rate_limits":
            if data.rate_limits is not None:
                user.rate_limits = merged(user.rate_limits, data.rate_limits)
        elif value is not None:
            setattr(user, name, value)
    _record_update(session, caller, user, before)
    return user


def _record_update(session: Session, caller: Caller, user: User, before: dict[str, Any]) -> None:
    session.flush()
    audit.record(session, caller, "user.update", "user", user.id, before=before, after=snapshot(user))


def set_identity(session: Session, caller: Caller, user_id: str, *, email: str | None, user_name: str) -> User:
    """Give a user exactly this email (None: none) and userName, as SCIM replaces them."""
    user = get_visible(session, caller, user_id)
    caller.require_org_admin("Changing a user's email")
    own = None if email is not None and user_name.lower() == email else user_name
    if email == user.email and own == user.user_name:
        return user
    _check_identity_free(session, caller, user, email=email, user_name=own or email)
    before = snapshot(user)
    user.email, user.user_name = email, own
    _record_update(session, caller, user, before)
    return user


def _check_identity_free(
    session: Session, caller: Caller, user: User, *, email: str | None, user_name: str | None
) -> None:
    for other, what, value in (
        (email and repository.get_by_email(session, org_id=caller.org_id, email=email), "email", email),
        (
            user_name and repository.get_by_user_name(session, org_id=caller.org_id, user_name=user_name),
            "user_name",
            user_name,
        ),
    ):
        if other and other.id != user.id:
            raise Conflict(f"a user with {what} {value} already exists")


def set_status(session: Session, caller: Caller, user_id: str, *, active: bool) -> User:
    """Deactivating a user stops all their keys at once (the gateway checks the owner's status)."""
    user = get_visible(session, caller, user_id)
    caller.require_org_admin("Changing a user's status")
    if user.role == "owner" and not caller.scope.is_owner:
        raise Forbidden("Only an owner may change an owner")
    if user.id == caller.user_id and not active:
        raise Conflict("You cannot deactivate yourself")
    if user.active == active:
        return user
    before = snapshot(user)
    user.status = "active" if active else "deactivated"
    user.deactivated_at = None if active else utcnow()
    session.flush()
    audit.record(
        session,
        caller,
        "user.activate" if active else "user.deactivate",
        "user",
        user.id,
        before=before,
        after=snapshot(user),
    )
    return user


def reset_password(session: Session, caller: Caller, user_id: str) -> tuple[User, str]:
    """A new admin-panel password for a user, returned once and kept only as an argon2 hash. The user's
    panel sessions end with the old password, wherever they were signed in."""
    user = get_visible(session, caller, user_id)
    caller.require_org_admin("Setting passwords")
    if user.role == "owner" and not caller.scope.is_owner:
        raise Forbidden("Only an owner may reset an owner's password")
    if user.email is None:
        raise Conflict(f"{user.label} has no email to sign in with: a password is of no use to them")
    password = new_password()
    user.password_hash = PasswordHasher().hash(password)
    repository.end_panel_sessions(session, org_id=caller.org_id, user_id=user.id)
    session.flush()
    audit.record(session, caller, "user.password.reset", "user", user.id)
    return user, password


MIN_PASSWORD = 12
MAX_PASSWORD = 1000


def change_own_password(session: Session, caller: Caller, *, current: str, new: str) -> User:
    """A person's own panel password: the current one proves it is them. Every panel session of theirs
    ends (the caller's too: the panel opens a new one for the page that asked)."""
    user = repository.get(session, org_id=caller.org_id, user_id=caller.user_id)
    if user is None or user.password_hash is None:
        raise Conflict("You sign in without a password here: there is none to change")
    try:
        PasswordHasher().verify(user.password_hash, current)
    except (VerifyMismatchError, InvalidHashError):
        raise BadRequest("current_password: that is not your current password") from None
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        raise BadRequest(f"new_password: between {MIN_PASSWORD} and {MAX_PASSWORD} characters, please")
    if new == current:
        raise BadRequest("new_password: the same as the current one")
    user.password_hash = PasswordHasher().hash(new)
    repository.end_panel_sessions(session, org_id=caller.org_id, user_id=user.id)
    session.flush()
    audit.record(session, caller, "user.password.change", "user", user.id)
    return user


def search(
    session: Session,
    caller: Caller,
    *,
    q: str | None,
    role: str | None,
    status: str | None,
    group_id: str | None,
    page: Page,
    subgroups: bool = False,
) -> tuple[list[User], int]:
    """`group_id` narrows to the group's direct members, or with `subgroups` to everyone in its subtree."""
    scope = caller.scope
    visible = scope.managed_groups
    group_ids: set[str] | None = None
    if group_id:
        parent_of = groups_repo.parent_map(session, org_id=caller.org_id)
        group_ids = tree.descendants(parent_of, group_id) if subgroups else {group_id}
    rows, total = repository.search(
        session,
        org_id=caller.org_id,
        q=q,
        role=role,
        status=status,
        group_ids=group_ids,
        visible_to_groups=visible,
        visible_user_id=caller.user_id,
        limit=page.limit,
        offset=page.offset,
    )
    return list(rows), total


def groups_of(session: Session, caller: Caller, user_id: str) -> UserGroups:
    user = get_visible(session, caller, user_id)
    memberships = groups_repo.memberships_of_user(session, org_id=caller.org_id, user_id=user.id)
    parent_of = groups_repo.parent_map(session, org_id=caller.org_id)
    role_of = {m.group_id: m.role for m in memberships}
    effective = tree.effective_groups(parent_of, role_of)
    groups = groups_repo.groups_by_id(session, org_id=caller.org_id, group_ids=sorted(effective))
    now = utcnow()

    def ref(gid: str) -> UserGroupRef:
        g = groups[gid]
        return UserGroupRef(id=g.id, name=g.name, role=role_of.get(gid), expired=g.is_expired(now))

    return UserGroups(
        direct=sorted((ref(g) for g in role_of), key=lambda r: r.name),
        effective=sorted((ref(g) for g in effective), key=lambda r: r.name),
    )
