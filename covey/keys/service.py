"""Rules about API keys: who may make, see and change which key, and what a key may be given.

The secret is made by `secrets.issue`, returned by `create` once and never kept: the table holds its
hash and a short prefix, and no audit event carries either the secret or the hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from covey.access import repository as access_repo
from covey.audit import service as audit
from covey.auth import authority
from covey.auth import repository as auth_repo
from covey.auth.caller import Caller
from covey.auth.permissions import loosens
from covey.groups import repository as groups_repo
from covey.groups import tree
from covey.guardrails.schemas import check_not_weakened
from covey.keys import repository
from covey.keys.schemas import KeyCreate, KeyOut, KeyUpdate, Permissions
from covey.keys.secrets import issue
from covey.kit.clock import isoformat, utcnow
from covey.kit.errors import BadRequest, Conflict, Forbidden, NotFound
from covey.kit.fields import limit_nanos
from covey.kit.money import nanos_to_text
from covey.models import AccessList, ApiKey, Group, User
from covey.ratelimits.schemas import check_not_raised, merged
from covey.users import repository as users_repo

LEVELS = {"none": 0, "read": 1, "write": 2}
ROLE_RANK = {"member": 0, "admin": 1, "owner": 2}


def snapshot(key: ApiKey) -> dict[str, Any]:
    """What the audit log keeps of a key: never the secret, never its hash."""
    return {
        "name": key.name,
        "owner_id": key.owner_id,
        "group_id": key.group_id,
        "prefix": key.prefix,
        "permissions": {"manage": key.manage, "completions": key.completions},
        "monthly_limit": nanos_to_text(key.monthly_limit or 0),
        "labels": dict(key.labels or {}),
        "expires_at": isoformat(key.expires_at),
        "access_list_id": key.access_list_id,
        "features": dict(key.features or {}),
        "logging": key.logging,
        "rate_limits": dict(key.rate_limits or {}),
        "guardrails": dict(key.guardrails or {}),
        "revoked_at": isoformat(key.revoked_at),
    }


# --- reading ---------------------------------------------------------------------------------


def get_visible(session: Session, caller: Caller, key_id: str) -> ApiKey:
    """A key the caller may see (and so manage). Another org's key is simply not found."""
    key = repository.get(session, org_id=caller.org_id, key_id=key_id)
    if key is None:
        raise NotFound("api key not found")
    if not caller.scope.can_manage_key(owner_id=key.owner_id, group_id=key.group_id):
        raise Forbidden("You may not see this api key")
    return key


def get_self(session: Session, caller: Caller) -> ApiKey:
    key = repository.get(session, org_id=caller.org_id, key_id=caller.key_id or "")
    if key is None:
        raise NotFound("api key not found")
    return key


def list_visible(
    session: Session,
    caller: Caller,
    *,
    include_revoked: bool = False,
    owner_id: str | None = None,
    group_id: str | None = None,
) -> list[ApiKey]:
    """Org admins see every key; group admins the keys of the groups they administer and their own;
    members their own."""
    scope = caller.scope
    return list(
        repository.search(
            session,
            org_id=caller.org_id,
            include_revoked=include_revoked,
            owner_id=owner_id,
            group_id=group_id,
            visible_groups=scope.managed_groups,
            visible_owner_id=caller.user_id,
        )
    )


def present(session: Session, caller: Caller, keys: Sequence[ApiKey]) -> list[KeyOut]:
    user_ids = {k.owner_id for k in keys} | {k.created_by for k in keys if k.created_by}
    emails = repository.emails(session, org_id=caller.org_id, user_ids=user_ids)
    return [KeyOut.of(k, emails=emails) for k in keys]


# --- checks shared by create and update -------------------------------------------------------


def _check_manage_level(caller: Caller, level: str) -> None:
    if LEVELS[level] > LEVELS[caller.key_manage]:
        raise Forbidden(f"permissions.manage: cannot grant {level}, above your own key's {caller.key_manage}")


def _check_may_empower(session: Session, caller: Caller, owner: User, level: str) -> None:
    """docs/design.md §2: a key for someone else carries management rights only if its maker covers them;
    nobody makes keys for a person who outranks them in the org."""
    if not caller.user_id or owner.id == caller.user_id:
        return
    if ROLE_RANK.get(owner.role, 0) > ROLE_RANK.get(caller.scope.org_role, 0):
        raise Forbidden(f"owner_id: {owner.email} is an org {owner.role}; you may not make keys for them")
    if level != "none" and not caller.scope.covers(authority.scope_of(session, owner)):
        raise Forbidden(
            f"permissions.manage: a key for {owner.email} can carry no management rights: "
            "they have rights that you do not"
        )


def _bounds(session: Session, caller: Caller, data: KeyCreate) -> tuple[str | None, str | None]:
    """A key made with a key is bounded by it: no higher limit and no later expiry than the limit and
    expiry someone above the caller set on the making key (docs/design.md §2). Answers who has set the new
    key's limit and expiry."""
    me = caller.user_id or None
    limit_by = me if data.monthly_limit else None
    expiry_by = me if data.expires_at is not None else None
    making = repository.get(session, org_id=caller.org_id, key_id=caller.key_id) if caller.key_id else None
    if making is None:
        return limit_by, expiry_by
    wanted = limit_nanos(data.monthly_limit)
    if making.monthly_limit is not None and not authority.covers_setter(session, caller, making.limit_set_by)[0]:
        if loosens(making.monthly_limit, wanted):
            limit = nanos_to_text(making.monthly_limit)
            raise Forbidden(f"monthly_limit: a key made with this key may have at most its limit, ${limit}")
        limit_by = making.limit_set_by
    if making.expires_at is not None and not authority.covers_setter(session, caller, making.expiry_set_by)[0]:
        if loosens(making.expires_at, data.expires_at):
            raise Forbidden(
                f"expires_at: a key made with this key must expire by {isoformat(making.expires_at)}, as it does"
            )
        expiry_by = making.expiry_set_by
    return limit_by, expiry_by


def _find_access_list(session: Session, caller: Caller, access_list_id: str) -> AccessList:
    found = access_repo.get(session, org_id=caller.org_id, access_list_id=access_list_id)
    if found is None:
        raise NotFound(f"access_list_id: access list {access_list_id} not found")
    return found


def _check_may_attach(caller: Caller, access_list: AccessList) -> None:
    if access_list.restricted:
        caller.require_org_admin(f"access_list_id: attaching the restricted access list {access_list.name}")


def _find_group(session: Session, caller: Caller, group_id: str) -> Group:
    group = groups_repo.get(session, org_id=caller.org_id, group_id=group_id)
    if group is None:
        raise NotFound(f"group_id: group {group_id} not found")
    return group


def _check_group_usable(session: Session, caller: Caller, *, group: Group, owner_id: str) -> None:
    """docs/design.md §2: a key with a group works while the group lives and its owner is in it (or below it)."""
    if group.is_expired(utcnow()):
        raise Conflict(f"group_id: group {group.name} has expired")
    direct = auth_repo.memberships_of(session, org_id=caller.org_id, user_id=owner_id)
    effective = tree.effective_groups(auth_repo.parent_map(session, org_id=caller.org_id), direct)
    if group.id not in effective:
        raise Conflict(f"group_id: the key's owner is not a member of group {group.name}")


def _editable(session: Session, caller: Caller, key_id: str, *, expired_ok: bool = False) -> ApiKey:
    key = get_visible(session, caller, key_id)
    if key.revoked_at is not None:
        raise Conflict("api key is revoked and cannot be changed")
    if key.is_expired(utcnow()) and not expired_ok:
        raise Conflict("api key has expired: only its expiry can be changed (to extend it), or it can be revoked")
    return key


# --- writing ---------------------------------------------------------------------------------


def create(session: Session, caller: Caller, data: KeyCreate) -> tuple[ApiKey, str]:
    """A new key and its secret: the only time the secret exists outside the caller's hands."""
    scope = caller.scope
    owner_id = data.owner_id or caller.user_id
    if not owner_id:
        raise BadRequest("owner_id: required when no user is acting")
    # Every named object is looked up first, so another org's id answers 404 whoever asks.
    owner = users_repo.get(session, org_id=caller.org_id, user_id=owner_id)
    if owner is None:
        raise NotFound(f"owner_id: user {owner_id} not found")
    group = _find_group(session, caller, data.group_id) if data.group_id is not None else None
    access_list = _find_access_list(session, caller, data.access_list_id) if data.access_list_id else None
    if owner_id != caller.user_id and not scope.can_manage_under(group.id if group else None):
        raise Forbidden("owner_id: only org admins, or admins of the key's group, make keys for other users")
    permissions = data.permissions or Permissions()
    _check_manage_level(caller, permissions.manage)
    _check_may_empower(session, caller, owner, permissions.manage)
    limit_by, expiry_by = _bounds(session, caller, data)
    if access_list is not None:
        _check_may_attach(caller, access_list)
    if not owner.active:
        raise Conflict(f"owner_id: user {owner.label} is deactivated")
    if group is not None:
        _check_group_usable(session, caller, group=group, owner_id=owner_id)
    issued = issue()
    key = repository.add(
        session,
        ApiKey(
            org_id=caller.org_id,
            name=data.name,
            key_hash=issued.key_hash,
            prefix=issued.prefix,
            owner_id=owner_id,
            group_id=data.group_id,
            manage=permissions.manage,
            completions=permissions.completions,
            labels=dict(data.labels or {}),
            expires_at=data.expires_at,
            monthly_limit=limit_nanos(data.monthly_limit),
            access_list_id=data.access_list_id,
            features=dict(data.features or {}),
            rate_limits=merged(None, data.rate_limits) if data.rate_limits is not None else None,
            guardrails={str(c): v for c, v in data.guardrails.items()} if data.guardrails else None,
            logging=data.logging,
            # The command line acts for no user; its keys name their owner, so created_by is always a user.
            created_by=caller.user_id or owner_id,
            limit_set_by=limit_by,
            expiry_set_by=expiry_by,
        ),
    )
    audit.record(session, caller, "apikey.create", "apikey", key.id, after=snapshot(key))
    return key, issued.secret


def revoke(session: Session, caller: Caller, key_id: str) -> None:
    """Requests with the key fail at once: authentication checks `revoked_at` on every call."""
    key = get_visible(session, caller, key_id)
    if key.revoked_at is not None:
        return
    before = snapshot(key)
    key.revoked_at = utcnow()
    session.flush()
    audit.record(session, caller, "apikey.revoke", "apikey", key.id, before=before, after=snapshot(key))


def set_limit(session: Session, caller: Caller, key_id: str, *, monthly_limit: Decimal) -> ApiKey:
    key = _editable(session, caller, key_id)
    new = limit_nanos(monthly_limit)
    loosened = loosens(key.monthly_limit, new)
    setter = authority.setter_after(
        session, caller, field="monthly_limit", setter_id=key.limit_set_by, loosens=loosened
    )
    before = snapshot(key)
    key.monthly_limit, key.limit_set_by = new, setter if new is not None else None
    session.flush()
    audit.record(session, caller, "apikey.limit", "apikey", key.id, before=before, after=snapshot(key))
    return key


def set_labels(session: Session, caller: Caller, key_id: str, *, labels: dict[str, str]) -> ApiKey:
    key = _editable(session, caller, key_id)
    before = snapshot(key)
    key.labels = dict(labels)
    session.flush()
    audit.record(session, caller, "apikey.label", "apikey", key.id, before=before, after=snapshot(key))
    return key


def set_expiry(session: Session, caller: Caller, key_id: str, *, expires_at: datetime | None) -> ApiKey:
    """An expired key may be given a later expiry (or none): that is how it is extended, subject to who
    set the old one, like any other extension."""
    key = _editable(session, caller, key_id, expired_ok=True)
    loosened = loosens(key.expires_at, expires_at)
    setter = authority.setter_after(session, caller, field="expires_at", setter_id=key.expiry_set_by, loosens=loosened)
    before = snapshot(key)
    key.expires_at, key.expiry_set_by = expires_at, setter if expires_at is not None else None
    session.flush()
    audit.record(session, caller, "apikey.expiry", "apikey", key.id, before=before, after=snapshot(key))
    return key


def update(session: Session, caller: Caller, key_id: str, data: KeyUpdate) -> ApiKey:
    key = _editable(session, caller, key_id)
    fields = data.model_fields_set
    levels = data.permissions.model_dump(include=data.permissions.model_fields_set) if data.permissions else {}
    if "manage" in levels:
        _check_manage_level(caller, levels["manage"])
        owner = users_repo.get(session, org_id=caller.org_id, user_id=key.owner_id)
        if owner is not None and levels["manage"] != "none":
            _check_may_empower(session, caller, owner, levels["manage"])
    if data.access_list_id is not None:
        _check_may_attach(caller, _find_access_list(session, caller, data.access_list_id))
    before = snapshot(key)
    if data.name is not None:
        key.name = data.name
    if "access_list_id" in fields:
        key.access_list_id = data.access_list_id
    if data.features is not None:
        key.features = dict(data.features)
    if data.logging is not None:
        key.logging = data.logging
    if data.rate_limits is not None:
        limits = merged(key.rate_limits, data.rate_limits)
        may_raise = caller.scope.can_manage_under(key.group_id)
        check_not_raised(key.rate_limits, limits, may_raise=may_raise, what="rate_limits")
        key.rate_limits = limits
    if data.guardrails is not None:
        scope = caller.scope
        guardrails = {**(key.guardrails or {}), **{str(c): v for c, v in data.guardrails.items()}}
        above = scope.can_manage_under(key.group_id)
        check_not_weakened(key.guardrails, guardrails, may_weaken=above)
        key.guardrails = guardrails
    # Only the permissions named change: {"manage": "read"} leaves completions as it was.
    key.manage = levels.get("manage", key.manage)
    key.completions = levels.get("completions", key.completions)
    session.flush()
    audit.record(session, caller, "apikey.update", "apikey", key.id, before=before, after=snapshot(key))
    return key
