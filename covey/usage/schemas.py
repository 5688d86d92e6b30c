"""The request log's shapes: one usage record as the API shows it (Requesty's names where it has
them: `api_key_id`, `user_id`, `group_id`, `model_requested`, `model_used`, `provider_used`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from covey.kit.money import nanos_to_text
from covey.models import UsageRecord


class RequestOut(BaseModel):
    id: str
    created_at: datetime
    api_key_id: str
    user_id: str
    group_id: str | None = Field(description="The key's group; the request is charged to it and its ancestors")
    endpoint: str
    model_requested: str
    model_used: str | None
    provider_used: str | None
    status: int
    error: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: str = Field(description="US dollars, exact decimal text")
    cost_nanos: int
    latency_ms: int
    ttft_ms: int | None
    stream: bool
    attempts: int
    features: list[str]
    guardrails: dict[str, int]
    tags: list[str]
    trace_id: str | None
    logged: bool = Field(description="Whether the request's content was kept and may be read (the key's `logging`)")

    @classmethod
    def of(cls, record: UsageRecord, *, logged: bool) -> RequestOut:
        return cls(
            id=record.id,
            created_at=record.created_at,
            api_key_id=record.key_id,
            user_id=record.user_id,
            group_id=record.group_id,
            endpoint=record.endpoint,
            model_requested=record.model_requested,
            model_used=record.model_used,
            provider_used=record.provider_used,
            status=record.status,
            error=record.error,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cached_tokens=record.cached_tokens,
            cache_write_tokens=record.cache_write_tokens,
            reasoning_tokens=record.reasoning_tokens,
            cost=nanos_to_text(record.cost_nanos),
            cost_nanos=record.cost_nanos,
            latency_ms=record.latency_ms,
            ttft_ms=record.ttft_ms,
            stream=record.stream,
            attempts=record.attempts,
            features=list(record.features or []),
            guardrails=dict(record.guardrails or {}),
            tags=list(record.tags or []),
            trace_id=record.trace_id,
            logged=logged,
        )


class RequestDetail(RequestOut):
    request_body: str | None = Field(description="Only while the key's `logging` flag is on")
    response_body: str | None = Field(description="Only while the key's `logging` flag is on")


class RequestPage(BaseModel):
    requests: list[RequestOut]
    total: int
    limit: int
    offset: int


class RequestEnvelope(BaseModel):
    request: RequestDetail
