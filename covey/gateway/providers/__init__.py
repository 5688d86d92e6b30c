"""Provider kinds: the built-ins, registered exactly as a plugin's `covey.providers` entry point would."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from covey.gateway.providers.anthropic import AnthropicProvider
from covey.gateway.providers.base import Provider, ProviderContext, ProviderError, ProviderRegistry
from covey.gateway.providers.mock import MockProvider
from covey.gateway.providers.openai import OpenAIProvider

log = logging.getLogger("covey.gateway")


def register_builtins(registry: ProviderRegistry) -> None:
    registry.register("openai", OpenAIProvider)
    registry.register("anthropic", AnthropicProvider)
    registry.register("mock", MockProvider)


def default_registry() -> ProviderRegistry:
    """Built-ins, then every installed plugin: an entry point in `covey.providers` is a function that
    receives the registry."""
    registry = ProviderRegistry()
    register_builtins(registry)
    for entry in entry_points(group="covey.providers"):
        log.info("loading provider plugin %s", entry.name)
        entry.load()(registry)
    return registry


__all__ = ["Provider", "ProviderContext", "ProviderError", "ProviderRegistry", "default_registry"]
