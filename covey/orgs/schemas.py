from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from covey.kit.money import nanos_to_number
from covey.models import Organization


class OrgOut(BaseModel):
    id: str
    name: str
    # Requesty reports a prepaid balance; a self-hosted Covey has none to report.
    balance: float | None
    approved_models: list[str]
    default_monthly_limit: float | None
    timezone: str
    guardrails: dict[str, Any]
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
            default_group_access_list_id=org.default_group_access_list_id,
            created_at=org.created_at,
        )
