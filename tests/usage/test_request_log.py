"""`GET /v1/manage/request`: the request log, its filters, its paging and who reads what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from covey.kit.db import Database
from tests.conftest import Org
from tests.reports.usage_factory import Company, company, usage, write

NOW = datetime.now(UTC).replace(microsecond=0)


def _log(c: Company, db: Database) -> dict[str, str]:
    """Five requests: two of Dana's through Backend (one failed, one with its content kept), one
    through Frontend, Eve's personal one, Sam's in Sales. Returns their ids by name."""
    org = c.org
    records = {
        "backend": usage(
            org_id=org.id,
            key_id=c.dana_backend.key_id,
            user_id=c.dana_backend.user_id,
            charged=c.charged(c.backend),
            at=NOW - timedelta(minutes=5),
            cost=766_620,
            features=["streaming", "tools"],
        ),
        "failed": usage(
            org_id=org.id,
            key_id=c.dana_backend.key_id,
            user_id=c.dana_backend.user_id,
            charged=c.charged(c.backend),
            at=NOW - timedelta(minutes=4),
            status=429,
            cost=0,
        ),
        "frontend": usage(
            org_id=org.id,
            key_id=c.dana_frontend.key_id,
            user_id=c.dana_frontend.user_id,
            charged=c.charged(c.frontend),
            at=NOW - timedelta(minutes=3),
            model="mock/claude",
        ),
        "personal": usage(
            org_id=org.id,
            key_id=c.eve_personal.key_id,
            user_id=c.eve_personal.user_id,
            charged=[],
            at=NOW - timedelta(minutes=2),
        ),
        "sales": usage(
            org_id=org.id,
            key_id=c.sam_sales.key_id,
            user_id=c.sam_sales.user_id,
            charged=c.charged(c.sales),
            at=NOW - timedelta(minutes=1),
        ),
    }
    records["frontend"]["request_body"] = '{"messages": "secret plans"}'
    records["frontend"]["response_body"] = '{"answer": "noted"}'
    write(db, list(records.values()))
    return {name: str(r["id"]) for name, r in records.items()}


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["requests"]]


def test_an_org_admin_reads_every_request_newest_first_with_tokens_cost_and_features(org: Org, db: Database) -> None:
    c = company(org)
    ids = _log(c, db)
    answer = org.admin.get("/v1/manage/request")
    assert _ids(answer) == [ids[n] for n in ("sales", "personal", "frontend", "failed", "backend")]
    body = answer.json()
    assert (body["total"], body["limit"], body["offset"]) == (5, 50, 0)
    first = next(r for r in body["requests"] if r["id"] == ids["backend"])
    assert (first["cost"], first["cost_nanos"]) == ("0.00076662", 766_620)
    assert (first["input_tokens"], first["output_tokens"], first["features"]) == (100, 50, ["streaming", "tools"])
    assert (first["api_key_id"], first["user_id"], first["group_id"]) == (
        c.dana_backend.key_id,
        c.dana_backend.user_id,
        c.backend,
    )
    assert first["model_requested"] == "mock/gpt-4o" and first["latency_ms"] == 10


def test_filters_by_person_key_group_subtree_model_status_and_time(org: Org, db: Database) -> None:
    c = company(org)
    ids = _log(c, db)

    def only(**params: Any) -> set[str]:
        return set(_ids(org.admin.get("/v1/manage/request", params=params)))

    assert only(user_id=c.dana_backend.user_id) == {ids["backend"], ids["failed"], ids["frontend"]}
    assert only(api_key_id=c.dana_backend.key_id) == {ids["backend"], ids["failed"]}
    assert only(group_id=c.engineering) == {ids["backend"], ids["failed"], ids["frontend"]}
    assert only(group_id=c.backend) == {ids["backend"], ids["failed"]}
    assert only(model="mock/claude") == {ids["frontend"]}
    assert only(status="429") == {ids["failed"]}
    assert only(status="4xx") == {ids["failed"]}
    assert ids["failed"] not in only(status="2xx")
    since = (NOW - timedelta(minutes=3, seconds=30)).isoformat()
    until = (NOW - timedelta(seconds=90)).isoformat()
    assert only(start=since, end=until) == {ids["frontend"], ids["personal"]}


def test_paging_and_bad_filters_answer_400_naming_the_field(org: Org, db: Database) -> None:
    c = company(org)
    ids = _log(c, db)
    second = org.admin.get("/v1/manage/request", params={"limit": 2, "offset": 2})
    assert _ids(second) == [ids["frontend"], ids["failed"]]
    assert second.json()["total"] == 5
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 10**10}, "offset"),
        ({"status": "teapot"}, "status"),
        ({"status": "700"}, "status"),
        ({"start": "yesterday"}, "start"),
        ({"start": NOW.isoformat(), "end": (NOW - timedelta(days=1)).isoformat()}, "end"),
    ):
        refused = org.admin.get("/v1/manage/request", params=params)
        assert refused.status_code == 400, (params, refused.text)
        assert field in refused.json()["error"]["message"], refused.text


def test_content_only_while_the_key_logs(org: Org, db: Database) -> None:
    c = company(org)
    ids = _log(c, db)
    listed = {r["id"]: r for r in org.admin.get("/v1/manage/request").json()["requests"]}
    assert not any(r["logged"] for r in listed.values())  # its key does not log (yet)
    hidden = org.admin.get(f"/v1/manage/request/{ids['frontend']}").json()["request"]
    assert (hidden["request_body"], hidden["response_body"]) == (None, None)
    switched = org.admin.patch(f"/v1/manage/apikey/{c.dana_frontend.key_id}", json={"logging": True})
    assert switched.status_code == 200, switched.text
    shown = org.admin.get(f"/v1/manage/request/{ids['frontend']}").json()["request"]
    assert shown["logged"] is True
    assert (shown["request_body"], shown["response_body"]) == ('{"messages": "secret plans"}', '{"answer": "noted"}')
    # A request its key never kept content for has none to show, logging or not.
    org.admin.patch(f"/v1/manage/apikey/{c.dana_backend.key_id}", json={"logging": True})
    plain = org.admin.get(f"/v1/manage/request/{ids['backend']}").json()["request"]
    assert (plain["logged"], plain["request_body"]) == (False, None)


def test_group_admins_read_their_subtree_and_members_their_own(org: Org, db: Database) -> None:
    c = company(org)
    ids = _log(c, db)
    lead = org.user()
    org.add_member(c.engineering, lead, role="admin")
    lead_api = org.key(lead, manage="read")
    assert set(_ids(lead_api.get("/v1/manage/request"))) == {ids["backend"], ids["failed"], ids["frontend"]}
    # Asking for a group they do not run narrows to nothing they may not read.
    assert _ids(lead_api.get("/v1/manage/request", params={"group_id": c.sales})) == []
    assert lead_api.get(f"/v1/manage/request/{ids['sales']}").status_code == 404
    assert lead_api.get(f"/v1/manage/request/{ids['backend']}").status_code == 200
    # A member reads only their own requests, whatever they filter by.
    assert set(_ids(c.dana_backend.api.get("/v1/manage/request"))) == {ids["backend"], ids["failed"], ids["frontend"]}
    assert _ids(c.eve_personal.api.get("/v1/manage/request")) == [ids["personal"]]
    assert _ids(c.eve_personal.api.get("/v1/manage/request", params={"user_id": c.dana_backend.user_id})) == []
    assert c.eve_personal.api.get(f"/v1/manage/request/{ids['sales']}").status_code == 404


def test_another_orgs_requests_are_never_seen(org: Org, new_org: Any, db: Database) -> None:
    c = company(org)
    ids = _log(c, db)
    other = new_org("Elsewhere")
    assert _ids(other.admin.get("/v1/manage/request")) == []
    assert _ids(other.admin.get("/v1/manage/request", params={"api_key_id": c.dana_backend.key_id})) == []
    assert other.admin.get(f"/v1/manage/request/{ids['backend']}").status_code == 404
