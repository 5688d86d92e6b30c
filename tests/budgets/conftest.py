"""Redis for the shared counter store: a real server at COVEY_TEST_REDIS_URL (default 127.0.0.1:6379).
Where none answers, tests that need it are skipped with the reason; under CI they fail instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from covey.app import create_app
from covey.config import Settings
from tests.conftest import IN_CI
from tests.gateway.servers import serve

REDIS_URL = os.environ.get("COVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_unreachable() -> str | None:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    reason = _redis_unreachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires Redis: {reason}")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    prefix = f"covey-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


# A mock provider priced so that a $1.00 budget fills in a few dozen requests.
GATEWAY_CONFIG = """
[providers.mock]
kind = "mock"
models = ["gpt-4o-mini", "gpt-4o"]
latency_ms = 5

[providers.broken]
kind = "mock"
models = ["gpt-4o-mini"]
fail_rate = 1.0

[prices."broken/gpt-4o-mini"]
input = 100
output = 2000

[prices."mock/gpt-4o-mini"]
input = 100
output = 2000

[prices."mock/gpt-4o"]
input = 200
output = 4000
"""


def gateway_settings(database_url: str, path: Path, **fields: object) -> Settings:
    path.write_text(GATEWAY_CONFIG)
    return Settings(
        database_url=database_url,
        config=path,
        snapshot_poll_seconds=0.05,
        usage_flush_seconds=0.05,
        webhook_retry_seconds=0.01,
        webhook_timeout_seconds=5,
        unusual_check_seconds=3600,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def budget_gateway(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Covey serving the gateway and the management API on a real port, counters in process."""
    settings = gateway_settings(database_url, tmp_path_factory.mktemp("budgets") / "covey.toml")
    with serve(create_app(settings)) as url:
        yield url
