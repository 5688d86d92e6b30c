"""Panel fixtures: a signed-in browserless session over the real app, people with passwords, and for the
browser tests a live server and Chromium (one of each per test module)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.cookies import SimpleCookie
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from covey.config import Settings
from covey.kit.db import Database
from covey.models import User
from tests.admin.browser import (
    launched_browser,  # noqa: F401 (the `browser` fixture)
    missing_browser,
    serving,
    sign_in,
    tab,
)
from tests.conftest import Org

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def give_password(db: Database, user_id: str) -> str:
    """Only `covey init` and `covey demo` set passwords, for the owner; tests give other people one."""
    password = uuid.uuid4().hex
    with db.transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash = PasswordHasher().hash(password)
    return password


class PanelSession:
    """One browser's cookies over the shared TestClient: the client's own jar is emptied around every
    request, so sessions of different people never mix."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.jar: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        self.client.cookies.clear()
        response = self.client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
        self.client.cookies.clear()
        for raw in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(raw).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.value
        found = (
            _CSRF_FIELD.search(response.text)
            if response.headers.get("content-type", "").startswith("text/html")
            else None
        )
        if found and "covey_session" in self.jar:
            self.csrf = found.group(1)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        body = dict(data or {})
        if csrf:
            body.setdefault("csrf_token", self.csrf)
        return self.request("POST", path, data=body, **kwargs)

    def fetch(self, path: str, data: dict[str, Any] | None = None) -> Any:
        """As the panel's JavaScript posts: form fields, the token in a header, JSON back."""
        headers = {"X-CSRF-Token": self.csrf, "X-Requested-With": "fetch", "Accept": "application/json"}
        return self.request("POST", path, data=data or {}, headers=headers)

    def sign_in(self, email: str, password: str) -> Any:
        form = self.get("/admin/sign-in")
        token = _CSRF_FIELD.search(form.text)
        assert token is not None
        response = self.post(
            "/admin/sign-in", {"email": email, "password": password, "csrf_token": token.group(1)}, csrf=False
        )
        if response.status_code == 303:
            self.get("/admin/keys")  # any page: picks up the session's CSRF token
        return response


@pytest.fixture
def browser_for(client: TestClient) -> Any:
    def _make() -> PanelSession:
        return PanelSession(client)

    return _make


@pytest.fixture
def browser_at(app: FastAPI) -> Iterator[Callable[[str], PanelSession]]:
    """A factory: a browser reaching the same app from another client address (the shared client's
    address is `testclient`)."""
    with ExitStack() as stack:

        def _make(address: str) -> PanelSession:
            other = TestClient(app, raise_server_exceptions=False, client=(address, 41000))
            return PanelSession(stack.enter_context(other))

        yield _make


@pytest.fixture
def owner_panel(browser_for: Callable[[], PanelSession], org: Org) -> PanelSession:
    panel = browser_for()
    response = panel.sign_in(org.owner_email, org.password)
    assert response.status_code == 303, response.text
    return panel


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    with serving(settings, tests="browser tests", missing=missing_browser()) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with tab(browser, width=1400, height=1000) as opened:
        yield opened


@pytest.fixture
def owner_page(page: Any, base_url: str, org: Org) -> Any:
    sign_in(page, base_url, org.owner_email, org.password)
    assert page.url.endswith("/admin/")
    return page
