"""API shapes for `/v1/manage/webhook…` and `/v1/manage/alert`. A webhook's secret appears only in
`WebhookCreated`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, StrictBool, StringConstraints, model_validator

from covey.kit.fields import Strict

Format = Literal["generic", "slack"]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL")
    return value


Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_http_url)]


GroupId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]


class WebhookCreate(Strict):
    url: Url
    format: Format = "generic"
    enabled: StrictBool = True
    # None: the whole organization's alerts; a group: alerts on it and on the groups under it.
    group_id: GroupId | None = None


class WebhookUpdate(Strict):
    url: Url | None = None
    format: Format | None = None
    enabled: StrictBool | None = None
    # null here makes the webhook the whole organization's again.
    group_id: GroupId | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Any:
        for name in self.model_fields_set - {"group_id"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self


class WebhookOut(BaseModel):
    id: str
    url: str
    format: Format
    enabled: bool
    group_id: str | None = None
    created_at: datetime


class WebhookCreated(BaseModel):
    """The only response that carries the signing secret."""

    webhook_id: str
    secret: str
    webhook: WebhookOut


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class WebhookEnvelope(BaseModel):
    webhook: WebhookOut


WHOLE_ORGANIZATION = "whole organization"
DELETED_WEBHOOK = "deleted webhook"
DELETED_GROUP = "deleted group"


class AttemptOut(BaseModel):
    webhook_id: str
    # The webhook it went to, as it is now: its URL (None once deleted) and whose alerts it takes —
    # its group's path, "whole organization", or "deleted webhook" / "deleted group".
    webhook_url: str | None = None
    webhook_group_id: str | None = None
    webhook_scope: str = DELETED_WEBHOOK
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    succeeded: bool


class AlertOut(BaseModel):
    id: str
    kind: str
    type: str
    line_id: str
    owner_type: str
    owner_id: str
    member_id: str | None
    threshold: int
    period_key: str
    budget: str
    current_spend: str
    fired_at: datetime
    payload: dict[str, Any]
    attempts: list[AttemptOut]


class AlertPage(BaseModel):
    alerts: list[AlertOut]
    total: int
    limit: int
    offset: int
