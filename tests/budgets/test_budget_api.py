"""`/v1/manage/budget`: Requesty's monthly fields listed as lines, Covey's own lines managed, every
change audited, other orgs' objects not found, bad input refused without change."""

from __future__ import annotations

from typing import Any

from tests.conftest import Org


def budgets(api: Any, **params: str) -> list[dict[str, Any]]:
    response = api.get("/v1/manage/budget", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["budgets"])


def test_requesty_fields_are_hard_monthly_lines(org: Org) -> None:
    group = org.group("Backend Engineers", monthly_budget="500", monthly_budget_per_user=25)
    user = org.user(monthly_limit="40")
    org.key(user, monthly_limit=10)
    lines = {(b["owner_type"], b["source"]): b for b in budgets(org.admin)}
    assert lines[("group", "monthly_budget")]["amount"] == "500"
    assert lines[("group", "monthly_budget")]["owner_name"] == "Backend Engineers"
    assert lines[("member", "monthly_budget_per_user")]["owner_id"] == group
    assert lines[("member", "monthly_budget_per_user")]["current_spend"] is None
    assert lines[("user", "monthly_limit")]["amount"] == "40"
    assert lines[("key", "monthly_limit")]["amount"] == "10"
    assert {b["enforcement"] for b in lines.values()} == {"hard"}
    assert {b["period"] for b in lines.values()} == {"month"}
    assert {tuple(b["thresholds"]) for b in lines.values()} == {(50, 80, 100)}


def test_create_update_delete_a_line_each_audited(org: Org) -> None:
    group = org.group()
    created = org.admin.post(
        "/v1/manage/budget",
        json={
            "owner_type": "group",
            "owner_id": group,
            "period": "day",
            "amount": "12.50",
            "enforcement": "soft",
            "thresholds": [90, 25],
        },
    )
    assert created.status_code == 200, created.text
    line = created.json()["budget"]
    assert (line["source"], line["amount"], line["thresholds"], line["period"]) == (
        "budget_line",
        "12.5",
        [25, 90],
        "day",
    )
    assert len(line["period_key"]) == 10  # 2026-11-27

    patched = org.admin.patch(f"/v1/manage/budget/{line['id']}", json={"amount": 20, "enforcement": "hard"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["budget"]["amount"], patched.json()["budget"]["enforcement"]) == ("20", "hard")
    assert org.admin.delete(f"/v1/manage/budget/{line['id']}").status_code == 204
    assert org.admin.get(f"/v1/manage/budget/{line['id']}").status_code == 404

    events = org.admin.get("/v1/manage/audit", params={"target_id": line["id"]}).json()
    actions = sorted(e["action"] for e in events.get("events", events.get("items", [])))
    assert actions == ["budget.create", "budget.delete", "budget.update"]


def test_org_line_and_duplicates(org: Org) -> None:
    body = {"owner_type": "org", "amount": 1000}
    first = org.admin.post("/v1/manage/budget", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["budget"]["owner_id"] == org.id
    again = org.admin.post("/v1/manage/budget", json=body)
    assert again.status_code == 409
    soft = org.admin.post("/v1/manage/budget", json={**body, "enforcement": "soft"})
    assert soft.status_code == 200


def test_bad_input_is_refused_naming_the_field(org: Org) -> None:
    group = org.group()
    cases = [
        {"owner_type": "group", "owner_id": group, "amount": 0},
        {"owner_type": "group", "owner_id": group, "amount": "-1"},
        {"owner_type": "group", "owner_id": group, "amount": "abc"},
        {"owner_type": "group", "amount": 5},
        {"owner_type": "team", "owner_id": group, "amount": 5},
        {"owner_type": "group", "owner_id": group, "amount": 5, "period": "year"},
        {"owner_type": "group", "owner_id": group, "amount": 5, "thresholds": [50, 50]},
        {"owner_type": "group", "owner_id": group, "amount": 5, "thresholds": [0]},
        {"owner_type": "group", "owner_id": group, "amount": 5, "extra": 1},
    ]
    for body in cases:
        response = org.admin.post("/v1/manage/budget", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["message"]
    assert [b for b in budgets(org.admin) if b["source"] == "budget_line"] == []
    missing = org.admin.post("/v1/manage/budget", json={"owner_type": "group", "owner_id": "nope", "amount": 5})
    assert missing.status_code == 404
    assert "owner_id" in missing.json()["error"]["message"]


def test_another_orgs_objects_are_not_found(org: Org, new_org: Any) -> None:
    other = new_org("Other")
    group = other.group()
    line = other.admin.post("/v1/manage/budget", json={"owner_type": "group", "owner_id": group, "amount": 5}).json()
    assert (
        org.admin.post("/v1/manage/budget", json={"owner_type": "group", "owner_id": group, "amount": 5}).status_code
        == 404
    )
    assert org.admin.get(f"/v1/manage/budget/{line['budget']['id']}").status_code == 404
    assert org.admin.patch(f"/v1/manage/budget/{line['budget']['id']}", json={"amount": 1}).status_code == 404
    assert org.admin.delete(f"/v1/manage/budget/{line['budget']['id']}").status_code == 404
    assert all(b["owner_id"] != group for b in budgets(org.admin))


def test_group_admins_set_budgets_in_their_subtree_only(org: Org) -> None:
    top = org.group()
    sub = org.group(parent_id=top)
    elsewhere = org.group()
    admin = org.user()
    org.add_member(top, admin, "admin")
    api = org.key(admin, manage="write")
    member = org.user()
    org.add_member(sub, member)
    member_api = org.key(member, manage="write")

    ok = api.post("/v1/manage/budget", json={"owner_type": "member", "owner_id": sub, "amount": 5})
    assert ok.status_code == 200, ok.text
    assert (
        api.post("/v1/manage/budget", json={"owner_type": "group", "owner_id": elsewhere, "amount": 5}).status_code
        == 403
    )
    assert api.post("/v1/manage/budget", json={"owner_type": "org", "amount": 5}).status_code == 403
    assert (
        api.post("/v1/manage/budget", json={"owner_type": "user", "owner_id": member, "amount": 5}).status_code == 403
    )
    assert (
        member_api.post("/v1/manage/budget", json={"owner_type": "group", "owner_id": sub, "amount": 5}).status_code
        == 403
    )
    assert member_api.patch(f"/v1/manage/budget/{ok.json()['budget']['id']}", json={"amount": 1}).status_code == 403
    # a member reads the lines of the groups they belong to, not others'
    seen = {b["owner_id"] for b in budgets(member_api)}
    assert sub in seen
    org.admin.post("/v1/manage/budget", json={"owner_type": "group", "owner_id": elsewhere, "amount": 5})
    assert elsewhere not in {b["owner_id"] for b in budgets(member_api)}
