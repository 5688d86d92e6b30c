"""Past requests for the demo: a few weeks of usage through the demo's keys and the mock provider's
models, recorded as the gateway records them (the charged groups fixed per docs/design.md §3, cost from the
same prices), so spend reports, budgets and charts have something to show from the first start.

The draws come from a fixed seed: every demo database gets the same traffic, relative to its day."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from covey.config import DEFAULT_GATEWAY_CONFIG
from covey.demo.roster import TRAFFIC, TRAFFIC_DAYS, TrafficSpec
from covey.groups import tree
from covey.kit.ids import new_id
from covey.models import ApiKey
from covey.pricing.prices import PricedModel, priced_model
from covey.pricing.tokens import Tokens
from covey.reports.rollups import record_usage
from covey.reports.savings import catalog_prices

_FEATURES = ("tools", "structured_outputs")


def _prices() -> dict[str, PricedModel]:
    out: dict[str, PricedModel] = {}
    for name, provider in DEFAULT_GATEWAY_CONFIG.providers.items():
        for model in provider.models:
            model_id = f"{name}/{model}"
            out[model_id] = priced_model(
                model_id=model_id,
                upstream_model=model,
                price_provider=None,
                override=DEFAULT_GATEWAY_CONFIG.prices.get(model_id),
            )
    return out


def record_past_traffic(
    session: Session, *, keys: Mapping[str, ApiKey], parent_of: Mapping[str, str | None], now: datetime
) -> int:
    """Record the demo's past requests, up to `now`; returns how many."""
    rng = random.Random("acme-corp-traffic")
    prices = _prices()
    records: list[dict[str, Any]] = []
    for days_ago in range(TRAFFIC_DAYS, -1, -1):
        day = (now - timedelta(days=days_ago)).date()
        office_hours = datetime.combine(day, time(8, 0), UTC)
        for spec in TRAFFIC:
            key = keys[spec.key]
            weekday = day.weekday() < 5
            count = round(spec.per_weekday * (rng.uniform(0.6, 1.4) if weekday else rng.uniform(0, 0.2)))
            for _ in range(count):
                created_at = office_hours + timedelta(seconds=rng.randrange(10 * 3600))
                if created_at <= now:
                    records.append(_request(rng, spec, key, parent_of, prices, created_at))
    record_usage(session, records, prices=catalog_prices(prices))
    return len(records)


def _request(
    rng: random.Random,
    spec: TrafficSpec,
    key: ApiKey,
    parent_of: Mapping[str, str | None],
    prices: Mapping[str, PricedModel],
    created_at: datetime,
) -> dict[str, Any]:
    model = rng.choice(spec.models)
    embeddings = spec.endpoint == "embeddings"
    failed = rng.random() < 0.02
    stream = not embeddings and rng.random() < 0.5
    if failed:
        tokens = Tokens()
    elif embeddings:
        tokens = Tokens(input=rng.randrange(200, 4000))
    else:
        prompt = rng.randrange(1000, 16000)
        tokens = Tokens(input=prompt, output=rng.randrange(100, 2500), cached=prompt // 2 if rng.random() < 0.2 else 0)
    features = ["embeddings"] if embeddings else (["streaming"] if stream else [])
    if not embeddings and rng.random() < 0.15:
        features.append(rng.choice(_FEATURES))
    latency = rng.randrange(250, 4000)
    return {
        "id": new_id(),
        "org_id": key.org_id,
        "created_at": created_at,
        "key_id": key.id,
        "user_id": key.owner_id,
        "group_id": key.group_id,
        "charged_groups": tree.chain(parent_of, key.group_id) if key.group_id else [],
        "endpoint": spec.endpoint,
        "model_requested": model,
        "model_used": model,
        "provider_used": model.split("/", 1)[0],
        "input_tokens": tokens.input,
        "output_tokens": tokens.output,
        "cached_tokens": tokens.cached,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_nanos": 0 if failed else prices[model].cost_nanos(tokens),
        "latency_ms": latency,
        "ttft_ms": rng.randrange(100, latency) if stream and not failed else None,
        "status": 502 if failed else 200,
        "error": "Upstream provider error" if failed else None,
        "stream": stream,
        "attempts": 1,
        "features": features,
        "tags": [],
        "trace_id": None,
        "end_user_id": None,
        "extra": {},
        "dimensions": {},
        "request_body": None,
        "response_body": None,
    }
