"""`/v1/manage/webhook`: org admins manage them; the secret is shown once; every change audited."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org


def test_webhook_crud_secret_shown_once(org: Org) -> None:
    created = org.admin.post("/v1/manage/webhook", json={"url": "https://hooks.example.com/a", "format": "slack"})
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    hook_id = body["webhook_id"]
    got = org.admin.get(f"/v1/manage/webhook/{hook_id}")
    assert got.status_code == 200
    assert "secret" not in got.json()["webhook"]
    assert body["secret"] not in org.admin.get("/v1/manage/webhook").text
    patched = org.admin.patch(f"/v1/manage/webhook/{hook_id}", json={"enabled": False, "format": "generic"})
    assert patched.status_code == 200
    assert (patched.json()["webhook"]["enabled"], patched.json()["webhook"]["format"]) == (False, "generic")
    assert org.admin.delete(f"/v1/manage/webhook/{hook_id}").status_code == 204
    assert org.admin.get(f"/v1/manage/webhook/{hook_id}").status_code == 404
    events = org.admin.get("/v1/manage/audit", params={"target_id": hook_id}).json()
    rows = events.get("events", events.get("items", []))
    assert sorted(e["action"] for e in rows) == ["webhook.create", "webhook.delete", "webhook.update"]
    assert body["secret"] not in str(rows)


def test_bad_webhooks_are_refused(org: Org) -> None:
    for body in (
        {"url": "ftp://x.example.com"},
        {"url": "not a url"},
        {"url": "https://x.example.com", "format": "teams"},
        {"url": "https://x.example.com", "enabled": "yes"},
        {},
    ):
        response = org.admin.post("/v1/manage/webhook", json=body)
        assert response.status_code == 400, (body, response.text)
    created = org.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com"}).json()
    response = org.admin.patch(f"/v1/manage/webhook/{created['webhook_id']}", json={"url": None})
    assert response.status_code == 400
    assert len(org.admin.get("/v1/manage/webhook").json()["webhooks"]) == 1


def test_only_org_admins_and_only_their_org(org: Org, new_org: Any) -> None:
    member = org.key(org.user(), manage="write")
    assert member.post("/v1/manage/webhook", json={"url": "https://x.example.com"}).status_code == 403
    assert member.get("/v1/manage/webhook").status_code == 403
    assert member.get("/v1/manage/alert").status_code == 403
    other = new_org("Other")
    hook = other.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com"}).json()["webhook_id"]
    assert org.admin.get(f"/v1/manage/webhook/{hook}").status_code == 404
    assert org.admin.patch(f"/v1/manage/webhook/{hook}", json={"enabled": False}).status_code == 404
    assert org.admin.delete(f"/v1/manage/webhook/{hook}").status_code == 404
    assert org.admin.get("/v1/manage/webhook").json()["webhooks"] == []
