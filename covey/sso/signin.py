"""Signing in to the panel through an organization's OpenID Connect issuer (docs/design.md §2): the
authorization code flow with PKCE, then just-in-time provisioning — a person found by subject, SCIM
external id or email is linked, a new one is created (and joins every default group) — and the groups
claim reconciled with the mapped groups. Every sign-in, refusal and provisioning is audited.

The state, nonce and PKCE verifier stay on the server (`SsoLogin`), looked up by the state's hash and
deleted by the callback that uses them, so a replayed callback is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth.authority import user_caller
from covey.auth.caller import Caller
from covey.config import sso_client_secret
from covey.groups import service as groups_service
from covey.kit.crypto import hash_secret
from covey.models import OrgSso, SsoLogin, User
from covey.scim import repository as scim_repository
from covey.sso import repository
from covey.sso.issuer import Client, IssuerError, Issuers, TokenRefused, new_secret
from covey.users import repository as users_repository
from covey.users import service as users_service
from covey.users.schemas import UserCreate

LOGIN_LIFETIME = timedelta(minutes=10)


class SignInRefused(Exception):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Finished:
    user: User
    next: str


def client_of(row: OrgSso) -> Client:
    secret = sso_client_secret(row.client_secret_env) if row.client_secret_env else None
    return Client(issuer=row.issuer, client_id=row.client_id, client_secret=secret)


def _system(row: OrgSso) -> Caller:
    """Covey acting for the organization's identity provider: provisioning, linking, refusals."""
    return Caller.system(row.org_id, label=f"single sign-on ({row.issuer})")


def start(
    session: Session, issuers: Issuers, *, org_id: str, redirect_uri: str, next: str, now: datetime
) -> tuple[str, str]:
    """The issuer's authorization URL for a new sign-in, and its state."""
    row = repository.get(session, org_id=org_id)
    if row is None:
        raise SignInRefused("This organization does not sign in through an identity provider.", 404)
    state, nonce, verifier = new_secret(), new_secret(), new_secret()
    try:
        url = issuers.authorization_url(
            client_of(row), redirect_uri=redirect_uri, state=state, nonce=nonce, verifier=verifier
        )
    except IssuerError as exc:
        raise SignInRefused(f"The identity provider cannot be reached: {exc}.", 502) from None
    repository.add_login(
        session,
        SsoLogin(
            state_hash=hash_secret(state),
            org_id=org_id,
            nonce=nonce,
            code_verifier=verifier,
            next=next,
            expires_at=now + LOGIN_LIFETIME,
        ),
    )
    return url, state


def finish(
    session: Session,
    issuers: Issuers,
    *,
    state: str,
    code: str | None,
    error: str | None,
    redirect_uri: str,
    now: datetime,
) -> Finished:
    """The person the issuer vouched for, signed in; `SignInRefused` otherwise. A refusal deletes the
    sign-in it used and is audited, so the caller commits before it answers."""
    login = repository.take_login(session, state_hash=hash_secret(state), now=now) if state else None
    if login is None:
        raise SignInRefused("This sign-in was already used or has expired: start again.", 400)
    row = repository.get(session, org_id=login.org_id)
    if row is None:
        raise SignInRefused("This organization does not sign in through an identity provider.", 404)
    try:
        if error or not code:
            raise TokenRefused(f"the identity provider answered {error or 'without a code'}")
        client = client_of(row)
        token = issuers.exchange(client, code=code, verifier=login.code_verifier, redirect_uri=redirect_uri)
        claims = issuers.verify(client, token, nonce=login.nonce)
        user = _provision(session, row, claims)
    except (IssuerError, TokenRefused) as exc:
        status = 502 if isinstance(exc, IssuerError) else 401
        _refused(session, row, str(exc))
        raise SignInRefused(f"Sign-in refused: {exc}.", status) from None
    except SignInRefused as exc:
        _refused(session, row, exc.message)
        raise
    audit.record(
        session,
        user_caller(session, user),
        "user.sso_sign_in",
        "user",
        user.id,
        after={"issuer": row.issuer, "subject": user.oidc_subject},
    )
    return Finished(user=user, next=login.next)


def _refused(session: Session, row: OrgSso, reason: str) -> None:
    audit.record(
        session,
        _system(row),
        "user.sso_sign_in.refused",
        "org",
        row.org_id,
        after={"issuer": row.issuer, "reason": reason},
    )


def _email_of(claims: dict[str, Any]) -> str | None:
    email = claims.get("email")
    # An address the issuer itself calls unverified proves nothing, so it links no one.
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return None
    return email.strip().lower()


def _provision(session: Session, row: OrgSso, claims: dict[str, Any]) -> User:
    subject = str(claims["sub"])
    email = _email_of(claims)
    domains = list(row.allowed_domains or [])
    if domains and (email is None or email.rsplit("@", 1)[1] not in domains):
        raise SignInRefused(f"Only addresses at {', '.join(domains)} may sign in to this organization.")
    caller = _system(row)
    user = (
        repository.user_by_subject(session, org_id=row.org_id, subject=subject)
        or users_repository.get_by_external_id(session, org_id=row.org_id, external_id=subject)
        or (users_repository.get_by_email(session, org_id=row.org_id, email=email) if email else None)
    )
    if user is not None:
        if not user.active:
            deleted = scim_repository.is_deleted(session, user)
            raise SignInRefused(f"This account is {'deleted' if deleted else 'deactivated'}.")
        if user.oidc_subject not in (None, subject):
            raise SignInRefused("This account is linked to another identity at the identity provider.")
        if user.oidc_subject is None:
            user.oidc_subject = subject
            session.flush()
            audit.record(
                session, caller, "user.sso_link", "user", user.id, after={"issuer": row.issuer, "subject": subject}
            )
    else:
        if email is None:
            raise SignInRefused("The identity provider sent no verified email, so no account can be made.")
        name = claims.get("name") if isinstance(claims.get("name"), str) else None
        user = users_service.create(session, caller, UserCreate(email=email, name=(name or None)))
        user.oidc_subject = subject
        session.flush()
        audit.record(
            session,
            caller,
            "user.sso_provision",
            "user",
            user.id,
            after={"issuer": row.issuer, "subject": subject, "email": email},
        )
    idp_groups = claims.get(row.groups_claim)
    if isinstance(idp_groups, list):
        reconcile_groups(session, caller, row, user, [g for g in idp_groups if isinstance(g, str)])
    return user


def reconcile_groups(session: Session, caller: Caller, row: OrgSso, user: User, idp_groups: list[str]) -> None:
    """The person's memberships follow the claim in the groups it can name, for the memberships the
    identity provider manages (docs/design.md §2):

    - a claimed IdP group names a Covey group through the admin's `group_mapping`, or else is a group
      the identity provider pushed through SCIM, by its externalId (Entra's object ids) or its name
      (Okta's and Keycloak's group names) — so SCIM and sign-in land a person in the same groups;
    - a membership is added (marked IdP-managed) in each named group the person is not in;
    - an IdP-managed membership is removed from each mapped group the claim no longer names, except in
      the groups SCIM pushes: their members are SCIM's to change, so the two paths never undo each other.

    A membership made in Covey is never touched, nor a group nothing maps."""
    provisioned = {g.id: g for g in repository.provisioned_groups(session, org_id=row.org_id)}
    names: dict[str, list[str]] = {}
    for group in provisioned.values():
        names.setdefault(group.name, []).append(group.id)
    mapping = {name: ids[0] for name, ids in names.items() if len(ids) == 1}  # a repeated name names nothing
    mapping.update({g.external_id: g.id for g in provisioned.values() if g.external_id})
    mapping.update(row.group_mapping or {})
    wanted = {mapping[g] for g in idp_groups if g in mapping}
    existing = repository.groups_in_org(session, org_id=row.org_id, group_ids=sorted(set(mapping.values())))
    current = repository.memberships_of(session, org_id=row.org_id, user_id=user.id)
    for group_id in sorted(wanted):
        if group_id in existing and group_id not in current:
            groups_service.bulk_add(session, caller, group_id, user_ids=[user.id], managed_by_idp=True)
    for group_id in sorted(set(existing) - wanted - set(provisioned)):
        membership = current.get(group_id)
        if membership is not None and membership.managed_by_idp:
            groups_service.remove_member(session, caller, group_id, user_id=user.id)
