"""Writing usage the way the gateway's writer does (`record_usage`), and a small tree to report on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from covey.kit.db import Database
from covey.kit.ids import new_id
from covey.reports.rollups import record_usage
from covey.reports.savings import PriceLookup
from tests.conftest import Api, Org


def usage(
    *,
    org_id: str,
    key_id: str,
    user_id: str,
    charged: list[str],
    at: datetime,
    model: str = "mock/gpt-4o",
    endpoint: str = "chat",
    cost: int = 1_000,
    status: int = 200,
    input_tokens: int = 100,
    output_tokens: int = 50,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    features: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One usage record as the gateway builds it; `charged` is the key's group and its ancestors."""
    return {
        "id": new_id(),
        "org_id": org_id,
        "created_at": at,
        "key_id": key_id,
        "user_id": user_id,
        "group_id": charged[0] if charged else None,
        "charged_groups": list(charged),
        "endpoint": endpoint,
        "model_requested": model,
        "model_used": model if status < 400 else None,
        "provider_used": model.split("/")[0] if status < 400 else None,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_tokens": cached_tokens,
        "cache_write_tokens": 0,
        "reasoning_tokens": reasoning_tokens,
        "cost_nanos": cost,
        "latency_ms": 10,
        "ttft_ms": None,
        "status": status,
        "error": None if status < 400 else "upstream failed",
        "stream": "streaming" in (features or []),
        "attempts": 1,
        "features": list(features or []),
        "tags": [],
        "trace_id": None,
        "end_user_id": None,
        "extra": dict(extra or {}),
        "dimensions": {},
        "request_body": None,
        "response_body": None,
    }


def write(db: Database, records: list[dict[str, Any]], prices: PriceLookup | None = None) -> None:
    with db.transaction() as session:
        record_usage(session, records, prices=prices)


def key_id_of(api: Api) -> str:
    response = api.get("/v1/manage/apikey/self")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


@dataclass
class Member:
    user_id: str
    api: Api
    key_id: str


@dataclass
class Company:
    """Engineering (budget $100) ⊃ Backend, Frontend; Sales top-level. Dana is in Backend and Frontend,
    with a key in each; Eve has a personal key."""

    org: Org
    engineering: str
    backend: str
    frontend: str
    sales: str
    dana_backend: Member
    dana_frontend: Member
    eve_personal: Member
    sam_sales: Member
    extra: dict[str, Any] = field(default_factory=dict)

    def charged(self, group: str | None) -> list[str]:
        return {
            None: [],
            self.engineering: [self.engineering],
            self.backend: [self.backend, self.engineering],
            self.frontend: [self.frontend, self.engineering],
            self.sales: [self.sales],
        }[group]


def company(org: Org) -> Company:
    tag = uuid.uuid4().hex[:6]
    engineering = org.group(f"Engineering {tag}", monthly_budget="100")
    backend = org.group("Backend", parent_id=engineering)
    frontend = org.group("Frontend", parent_id=engineering)
    sales = org.group(f"Sales {tag}")
    dana = org.user(f"dana-{tag}@example.com")
    eve = org.user(f"eve-{tag}@example.com")
    sam = org.user(f"sam-{tag}@example.com")
    org.add_member(backend, dana)
    org.add_member(frontend, dana)
    org.add_member(sales, sam)

    def member(user_id: str, group_id: str | None) -> Member:
        api = org.key(user_id, manage="read", group_id=group_id) if group_id else org.key(user_id, manage="read")
        return Member(user_id=user_id, api=api, key_id=key_id_of(api))

    return Company(
        org=org,
        engineering=engineering,
        backend=backend,
        frontend=frontend,
        sales=sales,
        dana_backend=member(dana, backend),
        dana_frontend=member(dana, frontend),
        eve_personal=member(eve, None),
        sam_sales=member(sam, sales),
    )


def month_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=1, microsecond=0)
