"""`/v1/manage/policy`: CRUD, validation, rights, audit."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org

CHAIN = {
    "name": "safe-chat",
    "type": "fallback",
    "description": "mini first",
    "targets": [{"model": "mock/gpt-4o-mini", "retries": 2}, {"model": "mock/gpt-4o"}],
}


def test_create_get_update_delete(org: Org) -> None:
    created = org.admin.post("/v1/manage/policy", json=CHAIN)
    assert created.status_code == 200, created.text
    policy = created.json()["policy"]
    assert policy["model"] == "policy/safe-chat"
    assert policy["targets"] == [
        {"model": "mock/gpt-4o-mini", "retries": 2, "weight": 1.0},
        {"model": "mock/gpt-4o", "retries": 0, "weight": 1.0},
    ]
    policy_id = created.json()["id"]
    assert org.admin.get(f"/v1/manage/policy/{policy_id}").json()["policy"]["name"] == "safe-chat"
    patched = org.admin.patch(f"/v1/manage/policy/{policy_id}", json={"type": "load_balancing", "name": "split"})
    assert patched.status_code == 200 and patched.json()["policy"]["model"] == "policy/split"
    assert [p["name"] for p in org.admin.get("/v1/manage/policy").json()["policies"]] == ["split"]
    actions = [e["action"] for e in org.admin.get("/v1/manage/audit", params={"target_id": policy_id}).json()["events"]]
    assert set(actions) == {"policy.create", "policy.update"}
    assert org.admin.delete(f"/v1/manage/policy/{policy_id}").status_code == 200
    assert org.admin.get(f"/v1/manage/policy/{policy_id}").status_code == 404


def test_bad_input_is_400_naming_the_field(org: Org) -> None:
    def refused(body: dict[str, Any]) -> str:
        response = org.admin.post("/v1/manage/policy", json=body)
        assert response.status_code == 400, response.text
        return str(response.json()["error"]["message"])

    assert "retries" in refused({**CHAIN, "targets": [{"model": "mock/a", "retries": 11}]})
    assert "targets" in refused({**CHAIN, "targets": []})
    assert "type" in refused({**CHAIN, "type": "latency"})
    assert "model" in refused({**CHAIN, "targets": [{"model": "no-provider"}]})
    assert "weight" in refused({**CHAIN, "targets": [{"model": "mock/a", "weight": 0}]})
    assert "missing" in refused({**CHAIN, "targets": [{"model": "policy/missing"}]})
    assert "itself" in refused({**CHAIN, "name": "loop", "targets": [{"model": "policy/loop"}]})
    assert org.admin.get("/v1/manage/policy").json()["policies"] == []


def test_names_conflict_and_references_protect(org: Org) -> None:
    inner = org.admin.post("/v1/manage/policy", json=CHAIN).json()["id"]
    assert org.admin.post("/v1/manage/policy", json=CHAIN).status_code == 409
    outer = {"name": "outer", "type": "load_balancing", "targets": [{"model": "policy/safe-chat", "weight": 1}]}
    assert org.admin.post("/v1/manage/policy", json=outer).status_code == 200
    assert org.admin.delete(f"/v1/manage/policy/{inner}").status_code == 409
    cycle = {"targets": [{"model": "policy/outer"}]}
    assert org.admin.patch(f"/v1/manage/policy/{inner}", json=cycle).status_code == 400


def test_members_read_admins_write_other_orgs_see_nothing(org: Org, new_org: Any) -> None:
    policy_id = org.admin.post("/v1/manage/policy", json=CHAIN).json()["id"]
    member = org.key(org.user(), manage="read")
    assert member.get("/v1/manage/policy").status_code == 200
    writer = org.key(org.user(), manage="write")
    assert writer.post("/v1/manage/policy", json={**CHAIN, "name": "mine"}).status_code == 403
    other = new_org("Other")
    assert other.admin.get(f"/v1/manage/policy/{policy_id}").status_code == 404
    assert other.admin.delete(f"/v1/manage/policy/{policy_id}").status_code == 404
    assert other.admin.get("/v1/manage/policy").json()["policies"] == []
