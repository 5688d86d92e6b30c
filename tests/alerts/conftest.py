"""The alert tests deliver to a real receiver on 127.0.0.1, which webhooks may reach only when the
settings allow that host: their app, and their dispatchers, say so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from covey.app import create_app
from covey.config import Settings

RECEIVER_HOSTS = ["127.0.0.1"]


@pytest.fixture(scope="session")
def receiver_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_hosts": RECEIVER_HOSTS})


@pytest.fixture(scope="session")
def client(receiver_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(receiver_settings), raise_server_exceptions=False) as test_client:
        yield test_client
