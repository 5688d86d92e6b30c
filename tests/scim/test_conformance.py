"""The conformance suite `scim2-tester` run against the real app, through the test client."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from pydantic import Field
from scim2_client import BaseSyncSCIMClient
from scim2_models import ScimProvider
from scim2_tester import Status, check_server

from covey.scim import resources
from tests.scim.conftest import SCIM, Scim

BASE = "http://testserver/scim/v2"


class InAppEngine(BaseSyncSCIMClient):
    """scim2-client's engine over the suite's own HTTP client (the app, its lifespan and database)."""

    def __init__(self, client: TestClient, token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}", "Accept": SCIM, "Content-Type": SCIM}

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = endpoint if "://" in endpoint else BASE + "/" + endpoint.lstrip("/")
        return url.startswith(BASE + "/") and ".." not in urlsplit(url).path.split("/")

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        target = url if "://" in url else BASE + "/" + url.lstrip("/")
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        return self.client.request(method, target, headers=headers, **kwargs)


class FreshEmails(list[str]):
    """Examples the tester draws from with `random.choice`: every draw is a new address."""

    def __len__(self) -> int:
        return 1_000_000

    def __getitem__(self, index: Any) -> Any:
        return f"{uuid.uuid4().hex}@example.com"


class AddressedEmail(resources.UserEmail):
    """An email's value is an address (Covey refuses one that is not, naming it)."""

    value: str | None = Field(None, examples=FreshEmails())


class PublishedUser(resources.User):
    """Covey's User as published; userName keeps the tester's own (non-email) values."""

    emails: list[AddressedEmail] | None = None  # type: ignore[assignment]


def test_scim2_tester_reports_no_errors(scim: Scim) -> None:
    provider = ScimProvider(
        models=[PublishedUser, resources.Group], resource_types=[resources.USER_TYPE, resources.GROUP_TYPE]
    )
    engine = InAppEngine(scim.client, scim.key, provider=provider)
    results = check_server(engine)
    errors = [f"{r.title} [{r.resource_type}]: {r.reason}" for r in results if r.status == Status.ERROR]
    print("\n".join(errors))
    assert errors == []
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert len(passed) > 40
