"""Access lists: CRUD in Requesty's shapes, org admins write, and no delete while something uses one."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org

MODALITIES = ("chat", "embedding", "image", "transcription", "speech")


def _create(org: Org, **body: Any) -> str:
    response = org.admin.post("/v1/manage/access-list", json={"name": "list", **body})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def _get(org: Org, list_id: str) -> dict[str, Any]:
    response = org.admin.get(f"/v1/manage/access-list/{list_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["access_list"])


def _actions(org: Org, target_id: str) -> list[str]:
    events = org.admin.get("/v1/manage/audit", params={"target_id": target_id, "limit": 100}).json()["events"]
    return sorted(e["action"] for e in events)


def test_create_get_list(org: Org) -> None:
    list_id = _create(org, name="EU only", chat=["openai/gpt-4o", "mistral/large", "openai/gpt-4o"], auto_approve=True)
    got = _get(org, list_id)
    assert got == {
        "id": list_id,
        "name": "EU only",
        "organization_id": org.id,
        "auto_approve": True,
        "restricted": False,
        "chat": ["openai/gpt-4o", "mistral/large"],
        "embedding": [],
        "image": [],
        "transcription": [],
        "speech": [],
    }
    listed = org.admin.get("/v1/manage/access-list").json()["access_lists"]
    assert [a["id"] for a in listed] == [list_id]
    assert _actions(org, list_id) == ["access_list.create"]


def test_patch_replaces_given_modalities_only(org: Org) -> None:
    list_id = _create(org, chat=["a/1", "a/2"], embedding=["e/1"], speech=["s/1"])
    response = org.admin.patch(f"/v1/manage/access-list/{list_id}", json={"chat": ["a/3"], "embedding": []})
    assert response.status_code == 200, response.text
    patched = response.json()["access_list"]
    assert patched["chat"] == ["a/3"] and patched["embedding"] == [] and patched["speech"] == ["s/1"]
    renamed = org.admin.patch(f"/v1/manage/access-list/{list_id}", json={"name": "renamed", "restricted": True})
    assert renamed.json()["access_list"]["name"] == "renamed" and renamed.json()["access_list"]["restricted"]
    assert _get(org, list_id)["chat"] == ["a/3"]
    events = org.admin.get("/v1/manage/audit", params={"target_id": list_id, "action": "access_list.update"})
    first = events.json()["events"][-1]
    assert first["before"]["chat"] == ["a/1", "a/2"] and first["after"]["chat"] == ["a/3"]


def test_names_are_unique_in_the_org(org: Org, new_org: Any) -> None:
    _create(org, name="Shared")
    clash = org.admin.post("/v1/manage/access-list", json={"name": "shared"})
    assert clash.status_code == 409 and "Shared" in clash.json()["error"]["message"]
    other_id = _create(org, name="Other")
    rename = org.admin.patch(f"/v1/manage/access-list/{other_id}", json={"name": "Shared"})
    assert rename.status_code == 409
    # The same name in another organization is fine.
    _create(new_org("Elsewhere"), name="Shared")


def test_bad_input_names_the_field_and_changes_nothing(org: Org) -> None:
    list_id = _create(org, name="keep", chat=["a/1"])
    cases: list[tuple[Any, str]] = [
        ({"chat": ["a/1"]}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "x", "chat": "a/1"}, "chat"),
        ({"name": "x", "chat": [""]}, "chat"),
        ({"name": "x", "embedding": ["m" * 201]}, "embedding"),
        ({"name": "x", "image": [1]}, "image"),
        ({"name": "x", "speech": [f"p/m{i}" for i in range(1001)]}, "speech"),
        ({"name": "x", "auto_approve": "yes"}, "auto_approve"),
        ({"name": "x", "video": []}, "video"),
    ]
    for body, field in cases:
        response = org.admin.post("/v1/manage/access-list", json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["error"]["message"], (body, response.text)
        if "name" in body and field != "name":
            patch = {k: v for k, v in body.items() if k != "name"}
            response = org.admin.patch(f"/v1/manage/access-list/{list_id}", json=patch)
            assert response.status_code == 400 and field in response.json()["error"]["message"], (patch, response.text)
    for patch, field in (
        ({"name": ""}, "name"),
        ({"chat": None}, "chat"),
        ({"name": None}, "name"),
        ({"restricted": None}, "restricted"),
    ):
        response = org.admin.patch(f"/v1/manage/access-list/{list_id}", json=patch)
        assert response.status_code == 400 and field in response.json()["error"]["message"], (patch, response.text)
    assert [a["name"] for a in org.admin.get("/v1/manage/access-list").json()["access_lists"]] == ["keep"]
    assert _get(org, list_id)["chat"] == ["a/1"]


def test_only_org_admins_write_but_members_read(org: Org) -> None:
    list_id = _create(org, chat=["a/1"])
    member_key = org.key(org.user(), manage="write")
    assert member_key.get("/v1/manage/access-list").status_code == 200
    assert member_key.get(f"/v1/manage/access-list/{list_id}").status_code == 200
    for method, path, body in (
        ("POST", "/v1/manage/access-list", {"name": "mine"}),
        ("PATCH", f"/v1/manage/access-list/{list_id}", {"chat": []}),
        ("DELETE", f"/v1/manage/access-list/{list_id}", None),
    ):
        response = member_key.request(method, path, json=body)
        assert response.status_code == 403, response.text
    admin_key = org.key(org.user(role="admin"), manage="write")
    assert admin_key.patch(f"/v1/manage/access-list/{list_id}", json={"chat": ["a/2"]}).status_code == 200
    reader = org.key(manage="read")
    assert reader.post("/v1/manage/access-list", json={"name": "r"}).json()["error"]["message"] == (
        "manage write permission required"
    )


def test_another_orgs_list_is_not_found(org: Org, new_org: Any) -> None:
    other = new_org("Other")
    foreign = _create(other, name="theirs")
    for method, body in (("GET", None), ("PATCH", {"chat": []}), ("DELETE", None)):
        response = org.admin.request(method, f"/v1/manage/access-list/{foreign}", json=body)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["message"] == "access list not found"
    assert org.admin.get("/v1/manage/access-list").json()["access_lists"] == []
    assert org.admin.post("/v1/manage/apikey", json={"name": "k", "access_list_id": foreign}).status_code == 404
    assert org.admin.post("/v1/manage/org/group/access-list", json={"access_list_id": foreign}).status_code == 404
    assert _get(other, foreign)["name"] == "theirs"


def test_delete_is_refused_while_a_key_uses_the_list(org: Org) -> None:
    list_id = _create(org, chat=["a/1"])
    key_ids = [
        org.admin.post("/v1/manage/apikey", json={"name": f"k{i}", "access_list_id": list_id}).json()["api_key_id"]
        for i in range(2)
    ]
    refused = org.admin.delete(f"/v1/manage/access-list/{list_id}")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "access list is assigned to 2 keys"
    org.admin.patch(f"/v1/manage/apikey/{key_ids[0]}", json={"access_list_id": None})
    assert org.admin.delete(f"/v1/manage/access-list/{list_id}").json()["error"]["message"] == (
        "access list is assigned to 1 key"
    )
    # A revoked key holds nothing in place.
    assert org.admin.delete(f"/v1/manage/apikey/{key_ids[1]}").status_code == 204
    deleted = org.admin.delete(f"/v1/manage/access-list/{list_id}")
    assert deleted.status_code == 200, deleted.text
    assert org.admin.get(f"/v1/manage/access-list/{list_id}").status_code == 404
    revoked = org.admin.get(f"/v1/manage/apikey/{key_ids[1]}").json()
    assert revoked["access_list_id"] is None
    assert _actions(org, list_id) == ["access_list.create", "access_list.delete"]


def test_delete_is_refused_while_a_group_uses_the_list(org: Org) -> None:
    list_id = _create(org, chat=["a/1"])
    groups = [org.group(access_list_id=list_id) for _ in range(2)]
    assert org.admin.get(f"/v1/manage/group/{groups[0]}").json()["group"]["access_list_id"] == list_id
    org.admin.post("/v1/manage/apikey", json={"name": "k", "access_list_id": list_id})
    refused = org.admin.delete(f"/v1/manage/access-list/{list_id}")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "access list is assigned to 2 groups and 1 key"
    assert _get(org, list_id)["id"] == list_id


def test_delete_is_refused_while_it_is_the_org_default(org: Org) -> None:
    list_id = _create(org, chat=["a/1"])
    assert org.admin.post("/v1/manage/org/group/access-list", json={"access_list_id": list_id}).status_code == 200
    refused = org.admin.delete(f"/v1/manage/access-list/{list_id}")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "access list is assigned to the organization's group default"
    assert org.admin.post("/v1/manage/org/group/access-list", json={"access_list_id": None}).status_code == 200
    assert org.admin.delete(f"/v1/manage/access-list/{list_id}").status_code == 200
