"""The one place that reads the environment and the TOML file.

`Settings` holds the process settings (`COVEY_*` environment variables); `GatewayConfig` holds
what `covey.toml` (named by `COVEY_CONFIG`) says about providers, prices and routing.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def normalize_database_url(url: str) -> str:
    """Accept the plain `postgresql://` spelling and pick the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Each field is set by `COVEY_<FIELD>`; its docstring is its line in the README's table."""

    model_config = SettingsConfigDict(env_prefix="COVEY_", extra="ignore", use_attribute_docstrings=True)

    database_url: str = "sqlite:///./covey.db"
    """`sqlite:///PATH` or `postgresql://user:password@host/db`."""
    config: Path = Path("covey.toml")
    """The providers file (`covey.toml`, below)."""
    redis_url: str | None = None
    """Redis: budget counters, rate limits and change notices shared by several processes (none: kept in process)."""
    host: str = "127.0.0.1"
    """Where `covey serve` listens."""
    port: int = 8080
    """The port `covey serve` listens on."""
    access_log: bool = False
    """`covey serve` logs a line per request (uvicorn's access log; off: the hot path spends nothing on it)."""
    snapshot_poll_seconds: float = 0.25
    """How often a gateway looks for control-plane changes made by other processes while no bus (Redis,
    PostgreSQL) tells it of them; while one listens, once a second."""
    max_body_bytes: int = 4 * 1024 * 1024
    """Gateway request bodies above this size answer 413, before they are parsed."""
    max_control_body_bytes: int = 1024 * 1024
    """Management API, SCIM and admin panel bodies above this size answer 413, before they are parsed."""
    usage_flush_seconds: float = 0.5
    """How often usage records are written, in batches."""
    usage_writer_process: bool = True
    """Usage records are written by a writer process of their own, so the serving process spends no time
    on the ledger (off, or with an in-memory SQLite database: a thread of the serving process)."""
    usage_behind_seconds: float = 10.0
    """`/readyz` answers 503 when usage records have waited longer than this to be written."""
    usage_retention_days: int | None = None
    """Usage records older than this many days are deleted by `covey usage prune`; rollups stay (none: keep all)."""
    secret_key: str = ""
    """Signs admin-panel sessions; required with `covey serve --workers N`, and the same on every host
    (none: one per process)."""
    redis_prefix: str = "covey"
    """Every Redis key Covey writes starts with this."""
    redis_max_connections: int = Field(default=16, ge=1)
    """Redis connections a process may open: the hot path's batches use one at a time, the rest
    (readiness, reports, repairs) is occasional."""
    database_pool_size: int = Field(default=5, ge=1)
    """PostgreSQL connections a process keeps open: the hot path uses none; the usage writer, the
    control plane's watcher and the management API's worker threads share them."""
    database_max_overflow: int = Field(default=10, ge=0)
    """PostgreSQL connections a process may open beyond `database_pool_size` in a burst."""
    budget_default_max_tokens: int = 4096
    """The output tokens a request without `max_tokens` is reserved for (fewer when its hard line has less room)."""
    budget_reservation_seconds: float = 900.0
    """A crashed request's budget reservation is released after this long."""
    rate_limit_lease_seconds: float = 900.0
    """A crashed request's concurrency lease is released after this long."""
    webhook_retry_seconds: float = 2.0
    """First retry delay of a failed webhook delivery; it doubles, at most 3 retries."""
    webhook_timeout_seconds: float = 15.0
    """Each webhook delivery attempt's timeout."""
    webhook_allowed_hosts: list[str] = Field(default_factory=list)
    """Hosts (as the URL writes them) exempt from the public-addresses-only rule for webhooks; a JSON list."""
    oidc_allowed_hosts: list[str] = Field(default_factory=list)
    """Hosts (as the issuer's URLs write them) exempt from the public-addresses-only rule when Covey calls
    an OpenID Connect issuer; a JSON list."""
    public_url: str = ""
    """The address people open Covey at (`https://covey.example.com`): OpenID Connect sign-in returns to
    `<public_url>/admin/sso/callback` (none: the address each request came to)."""
    unusual_factor: float = 3.0
    """Unusual usage: today's spend above this many times the 14-day median…"""
    unusual_floor_dollars: float = 10.0
    """…and above this many dollars."""
    unusual_check_seconds: float = 60.0
    """How often unusual usage is looked for."""
    metrics_token: str = ""
    """When set, `/metrics` wants `Authorization: Bearer <token>` (none: open)."""
    prometheus_multiproc_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    """A folder through which the workers' metrics add up in one scrape (`covey serve --workers N` makes one)."""

    @field_validator("database_url")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# An org admin names the variable that holds their issuer's client secret; only these names may be
# named, so no other secret of the server can be sent to an issuer an admin chose.
SSO_SECRET_PREFIX = "COVEY_SSO_SECRET_"


def sso_client_secret(name: str) -> str | None:
    """The client secret an org's OpenID Connect settings name by environment variable."""
    if not name.startswith(SSO_SECRET_PREFIX):
        return None
    return os.environ.get(name) or None


class ProviderConfig(BaseModel):
    # "openai", "anthropic", "mock", or a kind a `covey.providers` plugin registers.
    kind: str
    base_url: str | None = None
    api_key_env: str | None = None
    models: list[str] = Field(default_factory=list)
    timeout_seconds: float = 60.0
    # Mock provider only: added latency and injected failures, for demos and tests.
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    # genai-prices provider id to price this provider's models with (e.g. "openai"); default: inferred.
    price_provider: str | None = None
    # The upstream serves OpenAI's Responses API (`POST /responses`, "openai" kind): Responses requests
    # are sent to it as they came, not translated to chat.
    responses: bool = False

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class PriceConfig(BaseModel):
    """USD per million tokens; and the model's limits, which `/v1/models` shows (genai-prices' context
    window is used where none is given)."""

    input: Decimal
    output: Decimal
    context_window: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None


class GatewayConfig(BaseModel):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    prices: dict[str, PriceConfig] = Field(default_factory=dict)
    # First wait between retries of a fallback chain; it doubles each time, with ±10% jitter.
    retry_backoff_seconds: float = 0.5


DEFAULT_GATEWAY_CONFIG = GatewayConfig(
    providers={
        "mock": ProviderConfig(
            kind="mock",
            models=["gpt-4o-mini", "gpt-4o", "claude-sonnet", "text-embedding-3-small"],
        )
    },
    prices={
        "mock/gpt-4o-mini": PriceConfig(
            input=Decimal("0.15"), output=Decimal("0.60"), context_window=128_000, max_output_tokens=16_384
        ),
        "mock/gpt-4o": PriceConfig(
            input=Decimal("2.50"), output=Decimal("10.00"), context_window=128_000, max_output_tokens=16_384
        ),
        "mock/claude-sonnet": PriceConfig(
            input=Decimal("3.00"), output=Decimal("15.00"), context_window=200_000, max_output_tokens=64_000
        ),
        "mock/text-embedding-3-small": PriceConfig(input=Decimal("0.02"), output=Decimal("0"), context_window=8_192),
    },
)


def load_gateway_config(path: Path) -> GatewayConfig:
    """Read `covey.toml`; without one, serve the built-in mock provider."""
    if not path.exists():
        return DEFAULT_GATEWAY_CONFIG
    with path.open("rb") as fh:
        return GatewayConfig.model_validate(tomllib.load(fh))
