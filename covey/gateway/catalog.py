"""Every model the configured providers serve, as `provider/model`, with its provider and its prices."""

from __future__ import annotations

from dataclasses import dataclass

from covey.config import GatewayConfig
from covey.gateway.providers.base import Provider, ProviderContext, ProviderRegistry
from covey.pricing.prices import PricedModel, priced_model


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str  # "provider/model", what callers name and what answers report
    provider_name: str
    upstream_model: str
    provider: Provider
    price: PricedModel
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    # Its upstream serves the Responses API itself (the provider's `responses = true`).
    serves_responses: bool = False

    @property
    def is_embedding(self) -> bool:
        return "embed" in self.upstream_model


@dataclass(frozen=True)
class Catalog:
    models: dict[str, CatalogModel]

    @classmethod
    def build(cls, config: GatewayConfig, registry: ProviderRegistry, context: ProviderContext) -> Catalog:
        models: dict[str, CatalogModel] = {}
        for name, provider_config in config.providers.items():
            provider = registry.build(name, provider_config, context)
            if provider_config.responses and not callable(getattr(provider, "respond", None)):
                raise ValueError(f"provider {name!r}: responses = true needs a kind that serves them (openai)")
            for upstream_model in provider_config.models:
                model_id = f"{name}/{upstream_model}"
                given = config.prices.get(model_id)
                price = priced_model(
                    model_id=model_id,
                    upstream_model=upstream_model,
                    price_provider=provider_config.price_provider,
                    override=given,
                )
                display_name, context_window = price.described()
                models[model_id] = CatalogModel(
                    id=model_id,
                    provider_name=name,
                    upstream_model=upstream_model,
                    provider=provider,
                    price=price,
                    display_name=display_name,
                    context_window=(given.context_window if given else None) or context_window,
                    max_output_tokens=given.max_output_tokens if given else None,
                    serves_responses=provider_config.responses,
                )
        return cls(models=models)
