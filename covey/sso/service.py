"""An organization's OpenID Connect settings: org admins only, every change audited
(docs/design.md §2)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.kit.errors import BadRequest, NotFound
from covey.models import OrgSso
from covey.sso import repository
from covey.sso.schemas import SsoSettings


def snapshot(row: OrgSso) -> dict[str, Any]:
    return {
        "issuer": row.issuer,
        "client_id": row.client_id,
        "client_secret_env": row.client_secret_env,
        "label": row.label,
        "allowed_domains": list(row.allowed_domains or []),
        "groups_claim": row.groups_claim,
        "group_mapping": dict(row.group_mapping or {}),
        "password_sign_in": row.password_sign_in,
    }


def get(session: Session, caller: Caller) -> OrgSso:
    caller.require_org_admin("Reading the single sign-on settings")
    row = repository.get(session, org_id=caller.org_id)
    if row is None:
        raise NotFound("this organization has no single sign-on settings")
    return row


def put(session: Session, caller: Caller, data: SsoSettings, *, allowed_hosts: list[str]) -> OrgSso:
    caller.require_org_admin("Changing the single sign-on settings")
    issuer = urlsplit(data.issuer)
    if issuer.scheme != "https" and (issuer.hostname or "") not in {h.lower() for h in allowed_hosts}:
        raise BadRequest("issuer: must be an https URL (http only for a host in oidc_allowed_hosts)")
    found = repository.groups_in_org(session, org_id=caller.org_id, group_ids=list(set(data.group_mapping.values())))
    unknown = sorted({gid for gid in data.group_mapping.values() if gid not in found})
    if unknown:
        raise BadRequest(f"group_mapping: no group {', '.join(unknown)} in this organization")
    row = repository.get(session, org_id=caller.org_id)
    before = snapshot(row) if row is not None else None
    if row is None:
        row = OrgSso(org_id=caller.org_id)
    row.issuer = data.issuer
    row.client_id = data.client_id
    row.client_secret_env = data.client_secret_env
    row.label = data.label
    row.allowed_domains = sorted(set(data.allowed_domains))
    row.groups_claim = data.groups_claim
    row.group_mapping = dict(data.group_mapping)
    row.password_sign_in = data.password_sign_in
    repository.save(session, row)
    audit.record(
        session,
        caller,
        "org.sso.update" if before else "org.sso.create",
        "org",
        caller.org_id,
        before=before,
        after=snapshot(row),
    )
    return row


def delete(session: Session, caller: Caller) -> None:
    """Sign-in through the issuer ends; password sign-in is on again for everyone who has one."""
    row = get(session, caller)
    before = snapshot(row)
    repository.remove(session, row)
    audit.record(session, caller, "org.sso.delete", "org", caller.org_id, before=before)


def as_input(row: OrgSso) -> dict[str, Any]:
    """The stored settings as a body for `put`, for changes made one field at a time (the CLI)."""
    return snapshot(row)
