"""Authority that cannot be borrowed (docs/design.md §2): whose rights a key carries, and who may loosen a
limit someone else set. The rules are `Scope.covers` and `loosens_*`; this module loads the people
they compare."""

from __future__ import annotations

from sqlalchemy.orm import Session

from covey.audit.actor import Actor
from covey.auth import repository
from covey.auth.caller import Caller
from covey.auth.permissions import Scope
from covey.kit.errors import Forbidden
from covey.models import ApiKey, User
from covey.users import repository as users_repo


def scope_of(session: Session, user: User) -> Scope:
    return Scope(
        user_id=user.id,
        org_role=user.role,
        memberships=repository.memberships_of(session, org_id=user.org_id, user_id=user.id),
        parent_of=repository.parent_map(session, org_id=user.org_id),
    )


def user_caller(session: Session, user: User) -> Caller:
    """The caller a person is when they act themselves (the panel, a sign-in): their own rights, and
    the audit log names them."""
    return Caller(
        org_id=user.org_id, actor=Actor(kind="user", id=user.id, label=user.label), scope=scope_of(session, user)
    )


def key_caller(session: Session, key: ApiKey, owner: User) -> Caller:
    """The caller a key makes. A key made for someone else carries management rights only while its
    creator covers its owner, checked on every request, so either one changing role re-decides it.
    The audit log names the owner and, for such a key, the person who made it."""
    scope = scope_of(session, owner)
    manage, label = key.manage, owner.label
    if key.created_by is not None and key.created_by != owner.id:
        creator = users_repo.get(session, org_id=owner.org_id, user_id=key.created_by)
        if creator is None or not creator.active or not scope_of(session, creator).covers(scope):
            manage = "none"
        label = f"{owner.label} (key made by {creator.label if creator else key.created_by})"
    return Caller(
        org_id=owner.org_id,
        actor=Actor(kind="user", id=owner.id, label=label[:320], via_key_id=key.id),
        scope=scope,
        key_id=key.id,
        key_manage=manage,
    )


def covers_setter(session: Session, caller: Caller, setter_id: str | None) -> tuple[bool, str]:
    """Whether the caller covers whoever set a limit, and how to name that person. A limit set by the
    command line, or by no one known, is the organization's: only org admins cover it."""
    if not caller.user_id:
        return True, "covey cli"
    if setter_id == caller.user_id:
        return True, "you"
    setter = users_repo.get(session, org_id=caller.org_id, user_id=setter_id) if setter_id else None
    if setter is None:
        return caller.scope.is_org_admin, "an org admin"
    return caller.scope.covers(scope_of(session, setter)), setter.label


def require_may_loosen(session: Session, caller: Caller, *, field: str, setter_id: str | None) -> None:
    setter_after(session, caller, field=field, setter_id=setter_id, loosens=True)


def setter_after(session: Session, caller: Caller, *, field: str, setter_id: str | None, loosens: bool) -> str | None:
    """Check a change to a limit or expiry set by `setter_id`; answer who has set it afterwards.

    Anyone who may change the object may tighten it; loosening (raising, removing, extending) needs a
    caller who covers the setter. A tightening by someone who does not cover the setter leaves it
    theirs, so the tightener cannot later loosen it past what they were given."""
    covered, setter = covers_setter(session, caller, setter_id)
    if loosens and not covered:
        raise Forbidden(f"{field}: set by {setter}, whose rights yours do not include; you may lower it, not raise it")
    return (caller.user_id or None) if covered else setter_id
