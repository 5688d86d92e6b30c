"""A Covey server whose poll is a minute long, so that whatever it serves at once came by its own
commit hook or a bus; and an organization managed through that same server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from covey.app import create_app
from covey.config import Settings
from covey.kit.db import Database
from tests.budgets.conftest import GATEWAY_CONFIG, redis_prefix, redis_url
from tests.conftest import Org, make_org
from tests.gateway.servers import serve

__all__ = ["redis_prefix", "redis_url"]

SLOW_POLL = 60.0


def plane_settings(database_url: str, path: Path, **fields: object) -> Settings:
    path.write_text(GATEWAY_CONFIG)
    return Settings(
        database_url=database_url,
        config=path,
        snapshot_poll_seconds=SLOW_POLL,
        usage_flush_seconds=0.05,
        unusual_check_seconds=3600,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def slow_poll_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = plane_settings(database_url, tmp_path_factory.mktemp("plane") / "covey.toml")
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def http(slow_poll_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=slow_poll_server, timeout=30) as client:
        yield client


@pytest.fixture
def served_org(http: httpx.Client, db: Database) -> Org:
    """An organization whose admin key talks to the slow-poll server itself."""
    return make_org(http, db)  # type: ignore[arg-type]
