"""`GET /v1/models`: exactly what the calling key may use, with prices and capabilities, and the
org's routing policies it may call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from covey.gateway.access import Grant
from covey.gateway.catalog import Catalog, CatalogModel
from covey.gateway.routing import POLICY_PREFIX, usable_policies
from covey.gateway.snapshot import Policy

Json = dict[str, Any]


def _model_entry(model: CatalogModel) -> Json:
    entry: Json = {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": model.provider_name,
        "api": "embeddings" if model.is_embedding else "chat",
        "supports_streaming": not model.is_embedding,
        "supports_tool_calling": not model.is_embedding,
        "supports_output_json_object": not model.is_embedding,
    }
    prices = model.price.unit_prices()
    if prices is not None:
        entry.update(prices.per_token())
    return entry


def list_models(catalog: Catalog, grant: Grant, policies: Mapping[str, Policy]) -> Json:
    data = [_model_entry(catalog.models[m]) for m in sorted(grant.allowed_models)]
    for policy in sorted(usable_policies(policies, grant.allowed_models), key=lambda p: p.name):
        data.append(
            {
                "id": POLICY_PREFIX + policy.name,
                "object": "model",
                "created": 0,
                "owned_by": "policy",
                "description": policy.description,
                "policy_type": policy.type,
            }
        )
    return {"object": "list", "data": data}
