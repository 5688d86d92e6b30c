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


USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def new_user(scim: Scim, email: str, **fields: Any) -> dict[str, Any]:
    response = scim.post("/Users", json={"schemas": [USER], "userName": email, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_group(scim: Scim, name: str, members: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": name, **fields}
    if members is not None:
        body["members"] = [{"value": m} for m in members]
    response = scim.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def patch_ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = dict(response.json())
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body
