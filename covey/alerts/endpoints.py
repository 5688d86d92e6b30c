"""`/v1/manage/webhook…` (where alerts go) and `/v1/manage/alert` (what fired, with every delivery attempt)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime

from covey.alerts import service
from covey.alerts.schemas import (
    AlertPage,
    WebhookCreate,
    WebhookCreated,
    WebhookEnvelope,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)
from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.kit.pagination import Page, page_params
from covey.kit.responses import ERRORS
from covey.state import SettingsDep

webhook_router = APIRouter(prefix="/webhook", tags=["alerts"], responses=ERRORS)
alert_router = APIRouter(prefix="/alert", tags=["alerts"], responses=ERRORS)


def _out(hook: object) -> WebhookOut:
    return WebhookOut.model_validate(hook, from_attributes=True)


@webhook_router.get("", response_model=WebhookList, summary="The organization's alert webhooks")
def list_webhooks(session: SessionDep, caller: ManageRead) -> WebhookList:
    return WebhookList(webhooks=[_out(h) for h in service.list_all(session, caller)])


@webhook_router.post("", response_model=WebhookCreated, summary="Add a webhook; its signing secret is shown only here")
def create_webhook(
    body: WebhookCreate, session: SessionDep, caller: ManageWrite, settings: SettingsDep
) -> WebhookCreated:
    hook, secret = service.create(session, caller, body, allowed_hosts=settings.webhook_allowed_hosts)
    return WebhookCreated(webhook_id=hook.id, secret=secret, webhook=_out(hook))


@webhook_router.get("/{webhook_id}", response_model=WebhookEnvelope, summary="Get a webhook")
def get_webhook(webhook_id: str, session: SessionDep, caller: ManageRead) -> WebhookEnvelope:
    return WebhookEnvelope(webhook=_out(service.get(session, caller, webhook_id)))


@webhook_router.patch(
    "/{webhook_id}", response_model=WebhookEnvelope, summary="Change a webhook's URL, format, group or state"
)
def update_webhook(
    webhook_id: str, body: WebhookUpdate, session: SessionDep, caller: ManageWrite, settings: SettingsDep
) -> WebhookEnvelope:
    hook = service.update(session, caller, webhook_id, body, allowed_hosts=settings.webhook_allowed_hosts)
    return WebhookEnvelope(webhook=_out(hook))


@webhook_router.delete("/{webhook_id}", status_code=204, response_class=Response, summary="Remove a webhook")
def delete_webhook(webhook_id: str, session: SessionDep, caller: ManageWrite) -> Response:
    service.delete(session, caller, webhook_id)
    return Response(status_code=204)


@alert_router.get("", response_model=AlertPage, summary="Alerts fired, newest first, with their delivery attempts")
def list_alerts(
    session: SessionDep,
    caller: ManageRead,
    page: Annotated[Page, Depends(page_params)],
    since: AwareDatetime | None = None,
) -> AlertPage:
    alerts, total = service.alerts(session, caller, since=since, page=page)
    return AlertPage(alerts=alerts, total=total, limit=page.limit, offset=page.offset)
