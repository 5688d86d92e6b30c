"""A running Covey (uvicorn, real port) whose providers point at a real mock upstream, and helpers that
make the control-plane objects a gateway test needs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import anthropic
import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from covey.app import create_app
from covey.audit import service as audit
from covey.auth.caller import Caller
from covey.config import Settings
from covey.gateway.mock_upstream import MockUpstream
from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.models import Group, UsageRecord
from covey.orgs.bootstrap import create_org
from tests.conftest import Api, Org
from tests.gateway.servers import serve

T = TypeVar("T")

CONFIG = """
retry_backoff_seconds = 0.01

[providers.mock]
kind = "mock"
models = ["gpt-4o-mini", "text-embedding-3-small"]

[providers.up]
kind = "openai"
base_url = "{upstream}/v1"
api_key_env = "COVEY_TEST_UPSTREAM_KEY"
models = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "flaky", "steady", "alpha", "beta", "verbose"]

[providers.native]
kind = "openai"
base_url = "{upstream}/v1"
responses = true
models = ["gpt-4o-mini", "verbose"]

[providers.claude]
kind = "anthropic"
base_url = "{upstream}/v1"
models = ["claude-sonnet-4-20250514", "claude-verbose"]

[prices."mock/gpt-4o-mini"]
input = 0.15
output = 0.60

[prices."mock/text-embedding-3-small"]
input = 0.02
output = 0

[prices."up/flaky"]
input = 1
output = 2

[prices."up/steady"]
input = 3
output = 4
max_output_tokens = 1000

[prices."up/verbose"]
input = 2.5
output = 10

[prices."native/verbose"]
input = 2.5
output = 10

[prices."claude/claude-verbose"]
input = 2.5
output = 10
"""


@pytest.fixture(scope="session")
def upstream() -> Iterator[str]:
    with serve(MockUpstream(), lifespan="off") as url:
        yield url


@pytest.fixture(scope="session")
def gateway_settings(database_url: str, upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("gateway") / "covey.toml"
    path.write_text(CONFIG.format(upstream=upstream))
    return Settings(
        database_url=database_url,
        config=Path(path),
        snapshot_poll_seconds=0.05,
        usage_flush_seconds=0.05,
        max_body_bytes=64 * 1024,
    )


@pytest.fixture(scope="session")
def gateway(gateway_settings: Settings) -> Iterator[str]:
    with serve(create_app(gateway_settings)) as url:
        yield url


@pytest.fixture
def upstream_control(upstream: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream) as c:
        c.post("/_mock/reset")
        yield c
        c.post("/_mock/reset")


def eventually(check: Callable[[], T | None], *, tries: int = 100, pause: float = 0.02) -> T:
    """Polls `check` until it returns something truthy; fails after `tries` polls."""
    for _ in range(tries):
        result = check()
        if result:
            return result
        time.sleep(pause)
    raise AssertionError(f"condition not met after {tries} polls")


@dataclass
class World:
    """The control-plane objects a gateway test needs, made through the management API as an org admin
    would. States the API refuses to create (a key revoked or a group expired from the start) are written
    the way the control plane writes them: in a transaction with an audit event, which bumps the revision
    the gateway watches."""

    org: Org
    db: Database

    def _ok(self, response: Any) -> Any:
        assert response.status_code in (200, 204), response.text
        return response.json() if response.status_code == 200 else None

    def _change(self, action: str, target_id: str | None, fn: Callable[[Any], None]) -> None:
        with self.db.transaction() as session:
            fn(session)
            session.flush()
            audit.record(session, Caller.system(self.org.id, "tests"), action, action.split(".")[0], target_id)

    def group(self, name: str, parent_id: str | None = None, **fields: Any) -> str:
        body = {"name": name, "parent_id": parent_id, **fields}
        return str(self._ok(self.org.admin.post("/v1/manage/group", json=body))["group_id"])

    def expire_group(self, group_id: str) -> None:
        """Its expiry passed a moment ago (the API only sets future ones)."""
        past = utcnow() - timedelta(seconds=1)
        self._change("group.update", group_id, lambda s: setattr(s.get(Group, group_id), "expires_at", past))

    def member(self, group_id: str, user_id: str) -> None:
        self.org.add_member(group_id, user_id)

    def remove_member(self, group_id: str, user_id: str) -> None:
        self._ok(self.org.admin.delete(f"/v1/manage/group/{group_id}/member/{user_id}"))

    def delete_group(self, group_id: str) -> None:
        self._ok(self.org.admin.delete(f"/v1/manage/group/{group_id}"))

    def access_list(self, name: str, chat: list[str], embedding: list[str] | None = None) -> str:
        body = {"name": name, "chat": chat, "embedding": embedding or []}
        return str(self._ok(self.org.admin.post("/v1/manage/access-list", json=body))["id"])

    def key(self, owner_id: str | None = None, *, group_id: str | None = None, **fields: Any) -> tuple[str, str]:
        """(key id, secret), made with POST /v1/manage/apikey."""
        revoked = fields.pop("revoked_at", None) is not None
        expires_at = fields.pop("expires_at", None)
        completions = fields.pop("completions", "write")
        body: dict[str, Any] = {
            "name": uuid.uuid4().hex[:8],
            "owner_id": owner_id or self.org.owner_id,
            "group_id": group_id,
            "permissions": {"manage": "none", "completions": completions},
            **fields,
        }
        made = self._ok(self.org.admin.post("/v1/manage/apikey", json=body))
        key_id = str(made["api_key_id"])
        if expires_at is not None:
            self._ok(
                self.org.admin.post(f"/v1/manage/apikey/{key_id}/expiry", json={"expires_at": expires_at.isoformat()})
            )
        if revoked:
            self.revoke(key_id)
        return key_id, str(made["api_key"])

    def revoke(self, key_id: str) -> None:
        self._ok(self.org.admin.delete(f"/v1/manage/apikey/{key_id}"))

    def records(self, key_id: str, *, count: int | None = None) -> list[UsageRecord]:
        """The key's usage records, waiting for the writer to flush `count` of them."""

        def read() -> list[UsageRecord] | None:
            with self.db.sessions() as session:
                rows = list(
                    session.scalars(
                        select(UsageRecord).where(UsageRecord.key_id == key_id).order_by(UsageRecord.created_at)
                    )
                )
            return rows if count is None or len(rows) >= count else None

        return eventually(read, tries=200)


def make_world(client: TestClient, db: Database) -> World:
    with db.transaction() as session:
        made = create_org(session, name="Gateway Org", owner_email=f"owner-{uuid.uuid4().hex[:8]}@example.com")
    org = Org(
        id=made.org.id,
        owner_id=made.owner.id,
        owner_email=made.owner.label,
        password=made.password,
        admin=Api(client, made.api_key),
    )
    return World(org=org, db=db)


@pytest.fixture(scope="module")
def world(client: TestClient, db: Database) -> World:
    """One organization per test module: making one (with its owner's password hash) is the slow part."""
    return make_world(client, db)


def wait_until_served(gateway: str, secret: str) -> None:
    """A new key reaches the gateway's snapshot within the poll interval; wait for it."""

    def served() -> bool:
        response = httpx.get(f"{gateway}/v1/models", headers={"Authorization": f"Bearer {secret}"})
        return response.status_code == 200

    eventually(served)


class Sdk:
    """Official SDK clients for a running gateway, closed when the test ends."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self._open: list[Any] = []

    def openai(self, secret: str, **kwargs: Any) -> openai.OpenAI:
        made = openai.OpenAI(base_url=f"{self.gateway}/v1", api_key=secret, max_retries=0, **kwargs)
        self._open.append(made)
        return made

    def anthropic(self, secret: str) -> anthropic.Anthropic:
        made = anthropic.Anthropic(base_url=self.gateway, api_key=secret, max_retries=0)
        self._open.append(made)
        return made

    def close(self) -> None:
        for made in self._open:
            made.close()


@pytest.fixture
def sdk(gateway: str) -> Iterator[Sdk]:
    clients = Sdk(gateway)
    yield clients
    clients.close()
