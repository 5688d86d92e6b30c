"""Rules about the organization's own settings: org admins change them, every change is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from covey.access import repository as access_repo
from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.kit.errors import NotFound
from covey.kit.fields import limit_nanos
from covey.models import Organization
from covey.orgs import repository
from covey.orgs.schemas import OrgGroupAccessList, OrgOut, OrgUpdate
from covey.ratelimits.schemas import merged


def snapshot(org: Organization) -> dict[str, Any]:
    return OrgOut.of(org).model_dump(mode="json")


def get(session: Session, caller: Caller) -> Organization:
    org = repository.get(session, caller.org_id)
    if org is None:
        raise NotFound("organization not found")
    return org


def _editable(session: Session, caller: Caller) -> Organization:
    caller.require_org_admin("Changing the organization")
    return get(session, caller)


def update(session: Session, caller: Caller, data: OrgUpdate) -> Organization:
    org = _editable(session, caller)
    fields = data.model_dump(exclude_unset=True)
    before = snapshot(org)
    if "name" in fields:
        org.name = fields["name"]
    if "approved_models" in fields:
        org.approved_models = list(fields["approved_models"])
    if "default_monthly_limit" in fields:
        org.default_monthly_limit = limit_nanos(data.default_monthly_limit)
    if "timezone" in fields:
        org.timezone = fields["timezone"]
    if "guardrails" in fields:
        # A new dict, so the JSON column is seen as changed.
        org.guardrails = {**(org.guardrails or {}), **fields["guardrails"]}
    if data.rate_limits is not None:
        org.rate_limits = merged(org.rate_limits, data.rate_limits)
    session.flush()
    audit.record(session, caller, "org.update", "org", org.id, before=before, after=snapshot(org))
    return org


def set_group_access_list(session: Session, caller: Caller, data: OrgGroupAccessList) -> Organization:
    """The access list groups fall back to when they have none of their own."""
    if data.access_list_id is not None and (
        access_repo.get(session, org_id=caller.org_id, access_list_id=data.access_list_id) is None
    ):
        raise NotFound(f"access_list_id: access list {data.access_list_id} not found")
    org = _editable(session, caller)
    before = snapshot(org)
    org.default_group_access_list_id = data.access_list_id
    session.flush()
    audit.record(session, caller, "org.group_access_list", "org", org.id, before=before, after=snapshot(org))
    return org
