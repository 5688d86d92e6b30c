from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from covey.access.schemas import ModelList
from covey.guardrails.schemas import GuardrailsIn
from covey.kit.fields import Id, Money, Name, Strict
from covey.kit.money import nanos_to_number
from covey.models import Organization
from covey.ratelimits.schemas import RateLimitsIn, RateLimitsOut


def _zone(name: str) -> str:
    # `localtime` names whatever zone the host is set to, not a place.
    if name == "localtime":
        raise ValueError("'localtime' is not an IANA time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name") from None
    return name


TimeZone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), AfterValidator(_zone)]


class OrgUpdate(Strict):
    """Covey's PATCH /org: any subset."""

    name: Name | None = None
    approved_models: ModelList | None = Field(default=None, description="Model ids; [] allows every model")
    default_monthly_limit: Money | None = Field(
        default=None, description="Dollars for new users, number or string; 0 or null = none"
    )
    timezone: TimeZone | None = Field(default=None, description="IANA name for budget periods, e.g. Europe/Paris")
    guardrails: GuardrailsIn | None = Field(
        default=None,
        description="Modes to set per category (pii, secrets, financial): true or 'mask', 'block', false; "
        "categories not named keep their value",
    )
    rate_limits: RateLimitsIn | None = Field(
        default=None, description="The org's limits; those named change, 0 or null removes one"
    )

    @field_validator("name", "approved_models", "timezone", "guardrails", "rate_limits", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value


class OrgGroupAccessList(Strict):
    access_list_id: Id | None = Field(description="The access list new groups get by default; null clears it")


class OrgOut(BaseModel):
    id: str
    name: str
    # Requesty reports a prepaid balance; a self-hosted Covey has none to report.
    balance: float | None
    approved_models: list[str]
    default_monthly_limit: float | None
    timezone: str
    guardrails: dict[str, Any]
    rate_limits: RateLimitsOut
    default_group_access_list_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, org: Organization) -> OrgOut:
        return cls(
            id=org.id,
            name=org.name,
            balance=None,
            approved_models=list(org.approved_models or []),
            default_monthly_limit=None
            if org.default_monthly_limit is None
            else nanos_to_number(org.default_monthly_limit),
            timezone=org.timezone or "UTC",
            guardrails=dict(org.guardrails or {}),
            rate_limits=RateLimitsOut.of(org.rate_limits),
            default_group_access_list_id=org.default_group_access_list_id,
            created_at=org.created_at,
        )
