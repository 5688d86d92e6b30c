"""`GET /v1/models` and `GET /v1/models/{id}`: exactly what the calling key may use, with prices and
capabilities, and the org's routing policies it may call. Each entry carries OpenAI's fields,
Requesty's (numeric prices per token, `context_window`, `max_output_tokens`) and Anthropic's (`type`,
`display_name`, `created_at`), and the list Anthropic's paging fields, so every SDK reads it as is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from covey.gateway.access import Grant
from covey.gateway.catalog import Catalog, CatalogModel
from covey.gateway.routing import POLICY_PREFIX, usable_policies
from covey.plane.compiler import Policy

Json = dict[str, Any]


_EPOCH = "1970-01-01T00:00:00Z"


def _model_entry(model: CatalogModel) -> Json:
    entry: Json = {
        "id": model.id,
        "object": "model",
        "type": "model",
        "display_name": model.display_name or model.upstream_model,
        "created": 0,
        "created_at": _EPOCH,
        "owned_by": model.provider_name,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "api": "embeddings" if model.is_embedding else "chat",
        "supports_streaming": not model.is_embedding,
        "supports_tool_calling": not model.is_embedding,
        "supports_output_json_object": not model.is_embedding,
    }
    prices = model.price.unit_prices()
    if prices is not None:
        entry.update(prices.per_token())
    return entry


def _policy_entry(policy: Policy) -> Json:
    return {
        "id": POLICY_PREFIX + policy.name,
        "object": "model",
        "type": "model",
        "display_name": policy.name,
        "created": 0,
        "created_at": _EPOCH,
        "owned_by": "policy",
        "description": policy.description,
        "policy_type": policy.type,
    }


def list_models(catalog: Catalog, grant: Grant, policies: Mapping[str, Policy]) -> Json:
    data = [_model_entry(catalog.models[m]) for m in sorted(grant.allowed_models)]
    for policy in sorted(usable_policies(policies, grant.allowed_models), key=lambda p: p.name):
        data.append(_policy_entry(policy))
    return {
        "object": "list",
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def one_model(catalog: Catalog, grant: Grant, policies: Mapping[str, Policy], model_id: str) -> Json | None:
    """The entry `list_models` would show for `model_id`, or None where the key may not see it."""
    if model_id in grant.allowed_models and model_id in catalog.models:
        return _model_entry(catalog.models[model_id])
    name = model_id.removeprefix(POLICY_PREFIX)
    if model_id.startswith(POLICY_PREFIX):
        for policy in usable_policies(policies, grant.allowed_models):
            if policy.name == name:
                return _policy_entry(policy)
    return None
