"""A SCIM client is the HTTP API as an identity provider sees it: a SCIM token of one org."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, Org

SCIM = "application/scim+json"


class Scim(Api):
    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Content-Type": SCIM, "Accept": SCIM, **kwargs.pop("headers", {})}
        return super().request(method, "/scim/v2" + path, headers=headers, **kwargs)


def scim_token(org: Org, name: str = "okta") -> tuple[str, str]:
    response = org.admin.post("/v1/manage/scim/token", json={"name": name})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["id"], body["token"]


@pytest.fixture
def scim(org: Org) -> Scim:
    _id, token = scim_token(org)
    return Scim(org.admin.client, token)
