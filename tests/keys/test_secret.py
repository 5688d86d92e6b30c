"""A key's secret is shown once, at creation, and never again: not read back, not listed, not audited,
not stored."""

from __future__ import annotations

import sqlalchemy as sa

from covey.kit.db import Database
from covey.models import ApiKey
from tests.conftest import Api, Org


def test_secret_shown_once_and_never_again(org: Org, db: Database) -> None:
    created = org.admin.post("/v1/manage/apikey", json={"name": "ci"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert set(body) == {"api_key_id", "api_key"}
    key_id, secret = body["api_key_id"], body["api_key"]

    got = org.admin.get(f"/v1/manage/apikey/{key_id}")
    assert got.status_code == 200
    assert got.json()["name"] == "ci"
    assert secret[:12] == got.json()["prefix"]
    listed = org.admin.get("/v1/manage/apikey")
    audit = org.admin.get("/v1/manage/audit", params={"target_id": key_id})
    own = Api(org.admin.client, secret).get("/v1/manage/apikey/self")
    assert audit.json()["events"][0]["action"] == "apikey.create"
    for response in (got, listed, audit, own):
        assert response.status_code == 200
        assert secret not in response.text

    with db.transaction() as session:
        row = session.execute(sa.select(ApiKey.__table__).where(ApiKey.id == key_id)).mappings().one()
    for column, value in row.items():
        assert secret not in str(value), column
    assert len(row["key_hash"]) == 64
    audit_text = audit.text
    assert row["key_hash"] not in audit_text


def test_created_key_works_and_defaults_to_completions_only(org: Org) -> None:
    created = org.admin.post("/v1/manage/apikey", json={"name": "app"}).json()
    key = Api(org.admin.client, created["api_key"])
    me = key.get("/v1/manage/apikey/self")
    assert me.status_code == 200, me.text
    data = me.json()
    assert data["id"] == created["api_key_id"]
    assert data["permissions"] == {"manage": "none", "completions": "write"}
    assert data["monthly_limit"] == "0" and data["monthly_spend"] == "0"
    assert data["group"] is None and data["owner"]["id"] == org.owner_id
    assert data["created_by"] == {"id": org.owner_id, "email": org.owner_email}
    # The first admin key, made by `covey init` for the owner, names the owner as its creator.
    first = org.admin.get("/v1/manage/apikey/self").json()
    assert first["created_by"]["id"] == org.owner_id and first["permissions"]["manage"] == "write"
    denied = key.get("/v1/manage/apikey")
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "manage read permission required"
