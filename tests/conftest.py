"""Fixtures on the real stack: a migrated SQLite file or PostgreSQL database, the real ASGI app.

`COVEY_TEST_DATABASE=postgresql` runs the same suite on PostgreSQL (`make test` does both passes).
Where no PostgreSQL answers, that pass is skipped with the reason; under CI it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from covey.app import create_app
from covey.config import Settings, normalize_database_url
from covey.kit.db import Database, make_engine
from covey.migrations import runner
from covey.orgs.bootstrap import create_org

BACKEND = os.environ.get("COVEY_TEST_DATABASE", "sqlite")
POSTGRES_ADMIN_URL = normalize_database_url(
    os.environ.get("COVEY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_unreachable() -> str | None:
    try:
        engine = make_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {str(exc).splitlines()[0]}"
    return None


def pytest_report_header(config: pytest.Config) -> str:
    return f"covey test database: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "postgresql":
        return
    reason = _postgres_unreachable()
    if reason is None:
        return
    if IN_CI:
        raise pytest.UsageError(f"CI requires PostgreSQL: {reason}")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=f"PostgreSQL pass skipped: {reason}"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "covey.db"
        url = f"sqlite:///{path}"
        runner.upgrade(make_engine(url))
        yield url
        return
    name = f"covey_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    runner.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    config = tmp_path_factory.mktemp("config") / "covey.toml"  # absent: the built-in mock provider
    return Settings(database_url=database_url, config=Path(config), snapshot_poll_seconds=0.05)


@pytest.fixture(scope="session")
def db(database_url: str) -> Iterator[Database]:
    database = Database.connect(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


class Api:
    """The HTTP API as one key sees it."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key
        self.headers = {"Authorization": f"Bearer {key}"}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Org:
    id: str
    owner_id: str
    owner_email: str
    password: str
    admin: Api  # the owner's key, with manage write

    def user(self, email: str | None = None, *, role: str = "member", **fields: Any) -> str:
        email = email or f"{uuid.uuid4().hex[:10]}@example.com"
        response = self.admin.post("/v1/manage/user", json={"email": email, "role": role, **fields})
        assert response.status_code == 200, response.text
        return str(response.json()["user_id"])

    def group(self, name: str | None = None, **fields: Any) -> str:
        response = self.admin.post("/v1/manage/group", json={"name": name or uuid.uuid4().hex[:10], **fields})
        assert response.status_code == 200, response.text
        return str(response.json()["group_id"])

    def add_member(self, group_id: str, user_id: str, role: str = "member") -> None:
        response = self.admin.post(f"/v1/manage/group/{group_id}/member", json={"user_id": user_id, "role": role})
        assert response.status_code in (200, 204), response.text

    def key(
        self, owner_id: str | None = None, *, manage: str = "write", completions: str = "write", **fields: Any
    ) -> Api:
        body: dict[str, Any] = {
            "name": uuid.uuid4().hex[:8],
            "permissions": {"manage": manage, "completions": completions},
        }
        if owner_id:
            body["owner_id"] = owner_id
        response = self.admin.post("/v1/manage/apikey", json={**body, **fields})
        assert response.status_code == 200, response.text
        return Api(self.admin.client, response.json()["api_key"])


def make_org(client: TestClient, db: Database, name: str = "Test Org") -> Org:
    """A separate organization with its owner and an admin key, as `covey init` makes one."""
    with db.transaction() as session:
        made = create_org(session, name=name, owner_email=f"owner-{uuid.uuid4().hex[:8]}@example.com")
    return Org(
        id=made.org.id,
        owner_id=made.owner.id,
        owner_email=made.owner.label,
        password=made.password,
        admin=Api(client, made.api_key),
    )


@pytest.fixture
def new_org(client: TestClient, db: Database) -> Any:
    """A factory: each call creates a separate organization."""

    def _make(name: str = "Test Org") -> Org:
        return make_org(client, db, name)

    return _make


@pytest.fixture
def org(new_org: Callable[..., Org]) -> Org:
    return new_org()
