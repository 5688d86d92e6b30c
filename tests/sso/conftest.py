"""Sign-in through a real OpenID provider: a Covey server that may call 127.0.0.1 (`oidc_allowed_hosts`),
the provider of `provider.py`, Chromium, and an organization set up to sign in through that provider."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from covey.config import Settings
from covey.kit.db import Database
from covey.orgs.bootstrap import create_org
from tests.admin.browser import (
    launched_browser,  # noqa: F401 (the `browser` fixture)
    missing_browser,
    serving,
    tab,
)
from tests.sso.provider import CLIENT_ID, CLIENT_SECRET, Provider, missing_provider, new_key, running

SECRET_ENV = "COVEY_SSO_SECRET_TESTS"


@dataclass
class LiveOrg:
    """An organization on the live server, driven through its management API with the owner's key."""

    id: str
    owner_id: str
    api: httpx.Client

    def user(self, email: str, **fields: Any) -> str:
        response = self.api.post("/v1/manage/user", json={"email": email, **fields})
        assert response.status_code == 200, response.text
        return str(response.json()["user_id"])

    def group(self, name: str, **fields: Any) -> str:
        response = self.api.post("/v1/manage/group", json={"name": name, **fields})
        assert response.status_code == 200, response.text
        return str(response.json()["group_id"])

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        users = self.api.get("/v1/manage/user", params={"q": email}).json()["users"]
        found = [u for u in users if u["email"] == email]
        assert len(found) <= 1
        return found[0] if found else None

    def groups_of(self, user_id: str) -> set[str]:
        return {g["id"] for g in self.api.get(f"/v1/manage/user/{user_id}/groups").json()["direct"]}

    def audit(self, action: str) -> list[dict[str, Any]]:
        events = self.api.get("/v1/manage/audit", params={"action": action, "limit": 100}).json()["events"]
        return list(events)


@pytest.fixture(scope="module")
def sso_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"oidc_allowed_hosts": ["127.0.0.1"]})


@pytest.fixture(scope="module")
def base_url(sso_settings: Settings) -> Iterator[str]:
    missing = missing_browser() or missing_provider()
    with serving(sso_settings, tests="single sign-on browser tests", missing=missing) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with tab(browser, width=1200, height=900) as opened:
        yield opened


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oidc")


@pytest.fixture(scope="module")
def idp(base_url: str, workdir: Path) -> Iterator[Provider]:
    with running(workdir, redirect_uri=f"{base_url}/admin/sso/callback", signing_keys=[new_key("key-1")]) as p:
        yield p


@pytest.fixture(autouse=True)
def _client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)


def sso_body(issuer: str, **fields: Any) -> dict[str, Any]:
    return {"issuer": issuer, "client_id": CLIENT_ID, "client_secret_env": SECRET_ENV, "label": "Test IdP", **fields}


@pytest.fixture
def live_org(base_url: str, db: Database) -> Iterator[LiveOrg]:
    with db.transaction() as session:
        made = create_org(session, name="SSO Org", owner_email=f"owner-{uuid.uuid4().hex[:8]}@example.com")
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {made.api_key}"}, timeout=30) as api:
        yield LiveOrg(id=made.org.id, owner_id=made.owner.id, api=api)


def sign_in_with_sso(page: Any, base_url: str, org_id: str, login: str) -> None:
    """From Covey's sign-in page, through the provider's own login form, back to Covey."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{base_url}/admin/sign-in")
    page.click(f"a[href^='/admin/sso/{org_id}']")
    try:
        page.wait_for_selector("input[name=login], [role=alert]")
    except PlaywrightTimeout as exc:  # say where the browser ended up
        raise AssertionError(f"no login form at {page.url}: {page.content()[:1500]}") from exc
    if page.locator("[role=alert]").count():
        raise AssertionError(f"Covey refused to start the sign-in: {page.locator('[role=alert]').inner_text()}")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/**")
    page.wait_for_load_state()
