"""What one gateway request ended as (`Outcome`), and the usage record made of it."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from covey.budgets.estimate import prompt_tokens
from covey.budgets.guard import Ticket
from covey.gateway.admission import Admitted
from covey.gateway.catalog import CatalogModel
from covey.guardrails.masking import Screen, counts
from covey.kit.money import NANOS_PER_DOLLAR
from covey.pricing.tokens import Tokens

Json = dict[str, Any]


class Outcome:
    """What one request ended as, for its usage record."""

    __slots__ = (
        "attempts",
        "cap",
        "cost",
        "error",
        "guard",
        "headers",
        "model",
        "origin",
        "response_body",
        "started",
        "status",
        "streamed",
        "tokens",
        "ttft",
    )

    def __init__(self) -> None:
        self.model: CatalogModel | None = None
        self.tokens = Tokens()
        self.status = 200
        self.error: str | None = None
        self.origin = "provider"
        self.cost: int | None = None
        self.attempts = 0
        self.ttft: float | None = None
        self.response_body: str | None = None
        self.streamed = 0  # bytes of generated text relayed to the caller
        self.headers: list[tuple[bytes, bytes]] = []  # rate-limit headers every answer carries
        self.started = False  # the answer's first bytes went out: an error now ends the stream instead
        # Output tokens the request may be billed for (its cap times its choices); None: no cap was set.
        self.cap: int | None = None
        self.guard: Screen | None = None  # the request's guardrails, when on


def usage_record(
    ad: Admitted,
    model_requested: str,
    outcome: Outcome,
    *,
    endpoint: str,
    stream: bool,
    features: list[str],
    ticket: Ticket | None = None,
) -> tuple[Json, int]:
    """The usage record, and the cost charged. A request is recorded at the time its budget
    was reserved, so the record and the counters agree on its period."""
    grant = ad.grant
    used = outcome.model
    cost = outcome.cost
    if cost is None:
        # A stream cut short still used what it used; a failed call used nothing.
        has_tokens = outcome.tokens.input + outcome.tokens.output > 0
        cost = used.price.cost_nanos(outcome.tokens) if used is not None and has_tokens else 0
    now = ticket.at if ticket is not None else datetime.now(UTC)
    tokens = outcome.tokens
    record = {
        "org_id": grant.org_id,
        "created_at": now,
        "key_id": grant.key_id,
        "user_id": grant.owner_id,
        "group_id": grant.group_id,
        "charged_groups": list(grant.charged_groups),
        "endpoint": endpoint,
        "model_requested": model_requested,
        "model_used": used.id if used is not None else None,
        "provider_used": used.provider_name if used is not None else None,
        "input_tokens": tokens.input,
        "output_tokens": tokens.output,
        "cached_tokens": tokens.cached,
        "cache_write_tokens": tokens.cache_write,
        "reasoning_tokens": tokens.reasoning,
        "cost_nanos": cost,
        "latency_ms": int((time.perf_counter() - ad.started) * 1000),
        "ttft_ms": int(outcome.ttft * 1000) if outcome.ttft is not None else None,
        "status": outcome.status,
        "error": outcome.error,
        "stream": stream,
        "attempts": outcome.attempts,
        "features": features,
        "guardrails": counts(outcome.guard.hits) if outcome.guard is not None else None,
        "tags": ad.tags,
        "trace_id": ad.trace_id,
        "end_user_id": ad.end_user_id,
        "extra": ad.extra,
        "dimensions": ad.dimensions,
        "request_body": logged_request(ad, outcome) if grant.logging else None,
        "response_body": outcome.response_body if grant.logging else None,
    }
    return record, cost


def logged_request(ad: Admitted, outcome: Outcome) -> str:
    """The request as the caller sent it, or as it went upstream when guardrails masked it."""
    if outcome.guard is not None:
        return orjson.dumps(ad.body).decode()
    return ad.raw.decode(errors="replace")


def cut_short(tokens: Tokens, body: Json, streamed: int, cap: int | None) -> Tokens:
    """A stream that relayed text but ended without the provider's final usage is charged the most it
    can have cost, as budgets reserve: the prompt's bytes bound its tokens (unless the provider said),
    and each byte of text relayed is at most one token, up to the output cap the upstream was sent.
    Leaving early never makes an answer free."""
    if not streamed:
        return tokens
    most = streamed if cap is None else min(streamed, cap)
    return dataclasses.replace(tokens, input=tokens.input or prompt_tokens(body), output=max(tokens.output, most))


def dollars(nanos: int) -> float:
    """Requesty's `usage.cost`, a JSON number: the nearest double to the exact amount (int / int rounds
    correctly), without a Decimal on the hot path."""
    return nanos / NANOS_PER_DOLLAR
