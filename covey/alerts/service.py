"""Rules about webhooks and the alert log: both belong to the organization, so org admins manage them;
every webhook change is audited (never with its secret)."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from covey.alerts import repository
from covey.alerts.schemas import (
    DELETED_GROUP,
    DELETED_WEBHOOK,
    WHOLE_ORGANIZATION,
    AlertOut,
    AttemptOut,
    WebhookCreate,
    WebhookOut,
    WebhookUpdate,
)
from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.groups import repository as groups_repo
from covey.groups import tree
from covey.kit import egress
from covey.kit.errors import BadRequest, NotFound
from covey.kit.money import nanos_to_text
from covey.kit.pagination import Page
from covey.models import Webhook

SECRET_PREFIX = "whsec_"


def snapshot(hook: Webhook) -> dict[str, Any]:
    return WebhookOut.model_validate(hook, from_attributes=True).model_dump(mode="json")


def _check_destination(url: str, allowed_hosts: Collection[str]) -> None:
    """Refused now if the URL's host is not public. A name that does not resolve yet is accepted:
    every delivery checks again, as DNS answers change."""
    try:
        egress.resolve(url, allowed_hosts=allowed_hosts)
    except egress.Unresolved:
        return
    except egress.DestinationRefused as exc:
        raise BadRequest(f"url: {exc}") from exc


def _check_group(session: Session, caller: Caller, group_id: str | None) -> None:
    if group_id is not None and groups_repo.get(session, org_id=caller.org_id, group_id=group_id) is None:
        raise NotFound(f"group_id: no group {group_id!r} in this organization")


def create(
    session: Session, caller: Caller, data: WebhookCreate, *, allowed_hosts: Collection[str]
) -> tuple[Webhook, str]:
    caller.require_org_admin("Managing webhooks")
    _check_destination(data.url, allowed_hosts)
    _check_group(session, caller, data.group_id)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hook = Webhook(
        org_id=caller.org_id,
        url=data.url,
        format=data.format,
        enabled=data.enabled,
        group_id=data.group_id,
        secret=secret,
        created_by=caller.actor.id,
    )
    session.add(hook)
    session.flush()
    audit.record(session, caller, "webhook.create", "webhook", hook.id, after=snapshot(hook))
    return hook, secret


def get(session: Session, caller: Caller, webhook_id: str) -> Webhook:
    hook = repository.get_webhook(session, org_id=caller.org_id, webhook_id=webhook_id)
    if hook is None:
        raise NotFound("webhook not found")
    caller.require_org_admin("Reading webhooks")
    return hook


def list_all(session: Session, caller: Caller) -> list[Webhook]:
    caller.require_org_admin("Reading webhooks")
    return list(repository.webhooks(session, org_id=caller.org_id))


def update(
    session: Session, caller: Caller, webhook_id: str, data: WebhookUpdate, *, allowed_hosts: Collection[str]
) -> Webhook:
    hook = get(session, caller, webhook_id)
    if data.url is not None:
        _check_destination(data.url, allowed_hosts)
    if "group_id" in data.model_fields_set:
        _check_group(session, caller, data.group_id)
    before = snapshot(hook)
    for name in data.model_fields_set:
        setattr(hook, name, getattr(data, name))
    session.flush()
    audit.record(session, caller, "webhook.update", "webhook", hook.id, before=before, after=snapshot(hook))
    return hook


def delete(session: Session, caller: Caller, webhook_id: str) -> None:
    hook = get(session, caller, webhook_id)
    audit.record(session, caller, "webhook.delete", "webhook", hook.id, before=snapshot(hook))
    session.delete(hook)
    session.flush()


def scopes(session: Session, *, org_id: str, hooks: Sequence[Webhook]) -> dict[str, str]:
    """Whose alerts each webhook takes, by webhook id: its group's path, or "whole organization"
    ("deleted group" once its group is gone)."""
    if all(h.group_id is None for h in hooks):
        return {h.id: WHOLE_ORGANIZATION for h in hooks}
    groups = groups_repo.all_in_org(session, org_id=org_id)
    parent_of = {g.id: g.parent_id for g in groups}
    names = {g.id: g.name for g in groups}

    def scope(group_id: str | None) -> str:
        if group_id is None:
            return WHOLE_ORGANIZATION
        return tree.path(parent_of, names, group_id) if group_id in names else DELETED_GROUP

    return {h.id: scope(h.group_id) for h in hooks}


def alerts(session: Session, caller: Caller, *, since: datetime | None, page: Page) -> tuple[list[AlertOut], int]:
    caller.require_org_admin("Reading alerts")
    rows, total = repository.alerts(session, org_id=caller.org_id, since=since, limit=page.limit, offset=page.offset)
    found = repository.attempts_of(session, org_id=caller.org_id, alert_ids=[r.id for r in rows])
    hooks = {h.id: h for h in repository.webhooks(session, org_id=caller.org_id)} if found else {}
    scope_of = scopes(session, org_id=caller.org_id, hooks=list(hooks.values()))
    attempts: dict[str, list[AttemptOut]] = {}
    for a in found:
        hook = hooks.get(a.webhook_id)
        named = {
            "webhook_url": hook.url if hook else None,
            "webhook_group_id": hook.group_id if hook else None,
            "webhook_scope": scope_of[hook.id] if hook else DELETED_WEBHOOK,
        }
        attempt = AttemptOut.model_validate(a, from_attributes=True).model_copy(update=named)
        attempts.setdefault(a.alert_id, []).append(attempt)
    out = [
        AlertOut(
            id=r.id,
            kind=r.kind,
            type=r.type,
            line_id=r.line_id,
            owner_type=r.owner_type,
            owner_id=r.owner_id,
            member_id=r.member_id,
            threshold=r.threshold,
            period_key=r.period_key,
            budget=nanos_to_text(r.budget_nanos),
            current_spend=nanos_to_text(r.spend_nanos),
            fired_at=r.fired_at,
            payload=dict(r.payload or {}),
            attempts=attempts.get(r.id, []),
        )
        for r in rows
    ]
    return out, total
