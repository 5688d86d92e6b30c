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


def test_a_webhook_scoped_to_a_group(org: Org) -> None:
    team = org.group("Team")
    other = org.group("Other")
    created = org.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com/t", "group_id": team})
    assert created.status_code == 200, created.text
    hook_id = created.json()["webhook_id"]
    assert created.json()["webhook"]["group_id"] == team
    assert org.admin.get(f"/v1/manage/webhook/{hook_id}").json()["webhook"]["group_id"] == team
    whole = org.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com/w"}).json()
    assert whole["webhook"]["group_id"] is None

    moved = org.admin.patch(f"/v1/manage/webhook/{hook_id}", json={"group_id": other})
    assert moved.status_code == 200, moved.text
    assert moved.json()["webhook"]["group_id"] == other
    untouched = org.admin.patch(f"/v1/manage/webhook/{hook_id}", json={"enabled": False})
    assert untouched.json()["webhook"]["group_id"] == other
    widened = org.admin.patch(f"/v1/manage/webhook/{hook_id}", json={"group_id": None})
    assert widened.status_code == 200, widened.text
    assert widened.json()["webhook"]["group_id"] is None
    events = org.admin.get("/v1/manage/audit", params={"target_id": hook_id}).json()
    rows = events.get("events", events.get("items", []))
    assert sum(e["action"] == "webhook.update" for e in rows) == 3


def test_an_unknown_group_is_404_and_changes_nothing(org: Org, new_org: Any) -> None:
    foreign = new_org("Elsewhere").group("Theirs")
    for group_id in ("no-such-group", foreign):
        response = org.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com", "group_id": group_id})
        assert response.status_code == 404, response.text
        assert group_id in response.text
    assert org.admin.get("/v1/manage/webhook").json()["webhooks"] == []
    hook = org.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com"}).json()["webhook_id"]
    response = org.admin.patch(f"/v1/manage/webhook/{hook}", json={"group_id": "no-such-group"})
    assert response.status_code == 404
    assert "no-such-group" in response.text
    assert org.admin.get(f"/v1/manage/webhook/{hook}").json()["webhook"]["group_id"] is None
    for bad in ("", 7, "x" * 37):
        response = org.admin.post("/v1/manage/webhook", json={"url": "https://x.example.com", "group_id": bad})
        assert response.status_code == 400, (bad, response.text)
