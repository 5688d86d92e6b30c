"""SCIM bearer tokens: one per identity-provider connection, shown once, kept only as a hash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.audit.actor import Actor
from covey.auth.caller import Caller
from covey.kit.clock import utcnow
from covey.kit.crypto import hash_secret, new_token, visible_prefix
from covey.kit.errors import NotFound, Unauthorized
from covey.models import ScimToken
from covey.scim import repository

TOKEN_PREFIX = "scim_"
# `last_used_at` is a hint for admins, not an audit trail: writing it on every request would turn
# each SCIM read into a write.
_TOUCH_EVERY_SECONDS = 60


@dataclass(frozen=True)
class IssuedToken:
    token: ScimToken
    secret: str


def issue(session: Session, caller: Caller, *, name: str) -> IssuedToken:
    caller.require_org_admin("Managing SCIM tokens")
    secret = new_token(TOKEN_PREFIX)
    token = ScimToken(
        org_id=caller.org_id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=visible_prefix(secret),
        created_by=caller.user_id or None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session, caller, "scim_token.create", "scim_token", token.id, after={"name": token.name, "prefix": token.prefix}
    )
    return IssuedToken(token=token, secret=secret)


def list_tokens(session: Session, caller: Caller) -> Sequence[ScimToken]:
    caller.require_org_admin("Managing SCIM tokens")
    return repository.tokens(session, org_id=caller.org_id)


def revoke(session: Session, caller: Caller, token_id: str) -> ScimToken:
    caller.require_org_admin("Managing SCIM tokens")
    token = repository.token(session, org_id=caller.org_id, token_id=token_id)
    if token is None:
        raise NotFound("SCIM token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(
            session,
            caller,
            "scim_token.revoke",
            "scim_token",
            token.id,
            before={"name": token.name, "prefix": token.prefix, "revoked": False},
            after={"name": token.name, "prefix": token.prefix, "revoked": True},
        )
    return token


def caller_for(session: Session, secret: str) -> Caller:
    """The identity provider behind a bearer token: full rights, in the token's org only."""
    token = repository.token_by_hash(session, token_hash=hash_secret(secret))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("Invalid SCIM token")
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > _TOUCH_EVERY_SECONDS:
        repository.touch_token(session, token_id=token.id, at=now)
    system = Caller.system(token.org_id)
    return Caller(org_id=token.org_id, actor=Actor(kind="scim", id=token.id, label=token.name), scope=system.scope)
