"""Requesty's usage endpoints: its shape for every `group_by` and `resolution`, the groups of a period
summing to its total, the rollup and raw paths agreeing, and who may ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from covey.kit.db import Database
from tests.conftest import Org
from tests.reports.usage_factory import Company, company, key_id_of, usage, write

DIMENSIONS = ["group_id", "group_name", "user_id", "api_key_id", "model_requested", "model_used", "provider_used"]
ENTRY = {
    "completions_requests",
    "embedding_requests",
    "image_requests",
    "speech_requests",
    "transcription_requests",
    "total_requests",
    "spend",
    "input_tokens",
    "output_tokens",
    "total_tokens",
}
DAY = datetime(2026, 8, 7, tzinfo=UTC)


def _seed(org: Org, db: Database) -> Company:
    c = company(org)
    rows = []
    for i, (member, group) in enumerate(
        [
            (c.dana_backend, c.backend),
            (c.dana_frontend, c.frontend),
            (c.sam_sales, c.sales),
            (c.eve_personal, None),
        ]
    ):
        for hour, model, endpoint in [(1, "mock/gpt-4o", "chat"), (13, "mock/text-embedding-3-small", "embeddings")]:
            rows.append(
                usage(
                    org_id=org.id,
                    key_id=member.key_id,
                    user_id=member.user_id,
                    charged=c.charged(group),
                    at=DAY + timedelta(days=i % 2, hours=hour),
                    model=model,
                    endpoint=endpoint,
                    cost=1_000_000 * (i + 1) + hour,
                    input_tokens=10 * (i + 1),
                    output_tokens=hour,
                    extra={"team": f"t{i % 2}"},
                )
            )
    rows.append(
        usage(
            org_id=org.id,
            key_id=c.dana_backend.key_id,
            user_id=c.dana_backend.user_id,
            charged=c.charged(c.backend),
            at=DAY + timedelta(hours=5),
            status=502,
            cost=0,
        )
    )
    write(db, rows)
    return c


def _check_shape(body: dict[str, Any], group_by: list[str]) -> None:
    assert set(body) == {"usage"}
    for label, entry in body["usage"].items():
        assert datetime.strptime(label, "%Y-%m-%dT%H:%M:%SZ")
        assert set(entry) == ENTRY | {"grouped_data"}
        assert entry["total_tokens"] == entry["input_tokens"] + entry["output_tokens"]
        assert entry["total_requests"] == entry["completions_requests"] + entry["embedding_requests"]
        if not group_by:
            assert entry["grouped_data"] == []
            continue
        for item in entry["grouped_data"]:
            assert set(item) == ENTRY | {"group_by_values"}
            assert list(item["group_by_values"]) == group_by
        for counter in ENTRY - {"spend"}:
            assert sum(g[counter] for g in entry["grouped_data"]) == entry[counter], (label, counter)
        assert sum(g["spend"] for g in entry["grouped_data"]) == pytest.approx(entry["spend"], abs=1e-12)


@pytest.mark.parametrize("resolution", ["hour", "day", "month"])
def test_every_group_by_answers_in_requestys_shape(org: Org, db: Database, resolution: str) -> None:
    c = _seed(org, db)
    params: dict[str, Any] = {"start": "2026-08-07T00:00:00Z", "end": "2026-08-09T00:00:00Z", "resolution": resolution}
    totals = org.admin.get("/v1/manage/org/usage", params=params).json()
    _check_shape(totals, [])
    labels = list(totals["usage"])
    assert len(labels) == {"hour": 48, "day": 2, "month": 1}[resolution]
    assert sum(e["total_requests"] for e in totals["usage"].values()) == 9
    assert sum(e["embedding_requests"] for e in totals["usage"].values()) == 4
    for dim in [*DIMENSIONS, "extra.team"]:
        body = org.admin.get("/v1/manage/org/usage", params={**params, "group_by": dim}).json()
        _check_shape(body, [dim])
        assert [e["total_requests"] for e in body["usage"].values()] == [
            e["total_requests"] for e in totals["usage"].values()
        ]
    both = org.admin.get("/v1/manage/org/usage", params={**params, "group_by": ["group_id", "model_used"]}).json()
    _check_shape(both, ["group_id", "model_used"])
    groups = {g["group_by_values"]["group_id"] for e in both["usage"].values() for g in e["grouped_data"]}
    # The key's own group, empty for the personal key: never an ancestor.
    assert groups == {c.backend, c.frontend, c.sales, ""}
    names = org.admin.get("/v1/manage/org/usage", params={**params, "group_by": "group_name"}).json()
    found = {g["group_by_values"]["group_name"] for e in names["usage"].values() for g in e["grouped_data"]}
    assert found == {"Backend", "Frontend", org.admin.get(f"/v1/manage/group/{c.sales}").json()["group"]["name"], ""}


def test_rollups_and_raw_records_give_the_same_answer(org: Org, db: Database) -> None:
    _seed(org, db)
    # Whole days read the rollups; a range starting at 00:00:01 reads the raw records.
    whole = {"start": "2026-08-07T00:00:00Z", "end": "2026-08-09T00:00:00Z", "group_by": ["user_id", "model_used"]}
    raw = {**whole, "start": "2026-08-06T23:59:59Z"}
    a = org.admin.get("/v1/manage/org/usage", params=whole).json()["usage"]
    b = org.admin.get("/v1/manage/org/usage", params=raw).json()["usage"]
    assert b.pop("2026-08-06T00:00:00Z")["total_requests"] == 0
    assert a == b


def test_key_usage_counts_only_that_key(org: Org, db: Database) -> None:
    c = _seed(org, db)
    params = {"start": "2026-08-07T00:00:00Z", "end": "2026-08-08T00:00:00Z", "group_by": "model_requested"}
    mine = c.dana_backend.api.get("/v1/manage/apikey/self/usage", params=params).json()
    _check_shape(mine, ["model_requested"])
    entry = mine["usage"]["2026-08-07T00:00:00Z"]
    assert entry["total_requests"] == 3  # two successes and the failed request
    assert entry["spend"] == pytest.approx((1_000_001 + 1_000_013) / 1e9)
    same = org.admin.get(f"/v1/manage/apikey/{c.dana_backend.key_id}/usage", params=params).json()
    assert same == mine
    hours = org.admin.get(
        f"/v1/manage/apikey/{c.dana_backend.key_id}/usage", params={**params, "resolution": "hour"}
    ).json()
    assert sum(e["total_requests"] for e in hours["usage"].values()) == 3
    # The default range is 24 hours from start.
    assert list(org.admin.get("/v1/manage/org/usage", params={"start": "2026-08-07T00:00:00Z"}).json()["usage"]) == [
        "2026-08-07T00:00:00Z"
    ]


def test_who_may_ask(org: Org, new_org: Any, db: Database) -> None:
    c = _seed(org, db)
    params = {"start": "2026-08-07T00:00:00Z"}
    # A member's key reads its own usage and no one else's; org usage needs an org admin.
    assert c.sam_sales.api.get("/v1/manage/apikey/self/usage", params=params).status_code == 200
    assert c.sam_sales.api.get(f"/v1/manage/apikey/{c.dana_backend.key_id}/usage", params=params).status_code == 403
    assert c.sam_sales.api.get("/v1/manage/org/usage", params=params).status_code == 403
    other = new_org("Other")
    assert other.admin.get(f"/v1/manage/apikey/{c.dana_backend.key_id}/usage", params=params).status_code == 404
    theirs = other.admin.get("/v1/manage/org/usage", params=params).json()
    assert theirs["usage"]["2026-08-07T00:00:00Z"]["total_requests"] == 0
    assert org.admin.client.get("/v1/manage/org/usage", params=params).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-08-07T00:00:00"}, "start"),
        ({"start": "2026-08-07T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "end"),
        ({"start": "2026-08-07T00:00:00Z", "end": "2026-08-06T00:00:00Z"}, "end"),
        ({"start": "2026-08-07T00:00:00Z", "resolution": "week"}, "resolution"),
        ({"start": "2026-08-07T00:00:00Z", "group_by": "colour"}, "group_by"),
        ({"start": "2026-08-07T00:00:00Z", "group_by": "extra."}, "group_by"),
    ],
)
def test_bad_input_answers_400_naming_the_field(org: Org, params: dict[str, str], field: str) -> None:
    response = org.admin.get("/v1/manage/org/usage", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith(field)


@pytest.mark.parametrize("group_by", [[], ["group_id", "model_used"], ["user_id", "provider_used"], ["api_key_id"]])
def test_whole_months_from_the_month_rollups_equal_the_raw_answer(org: Org, db: Database, group_by: list[str]) -> None:
    _seed(org, db)
    whole = {
        "start": "2026-08-01T00:00:00Z",
        "end": "2026-10-01T00:00:00Z",
        "resolution": "month",
        "group_by": group_by,
    }
    a = org.admin.get("/v1/manage/org/usage", params=whole).json()["usage"]
    b = org.admin.get("/v1/manage/org/usage", params={**whole, "start": "2026-07-31T23:59:59Z"}).json()["usage"]
    assert b.pop("2026-07-01T00:00:00Z")["total_requests"] == 0
    assert a == b
    assert a["2026-08-01T00:00:00Z"]["total_requests"] == 9


def test_groups_sharing_a_name_are_one_entry_by_name_and_two_by_id(org: Org, db: Database) -> None:
    c = company(org)
    # Sibling names are unique; cousins' need not be: a second "Backend" under Sales.
    sales_backend = org.group("Backend", parent_id=c.sales)
    org.add_member(sales_backend, c.sam_sales.user_id)
    key = org.key(c.sam_sales.user_id, manage="read", group_id=sales_backend)
    key_id = key_id_of(key)
    write(
        db,
        [
            usage(
                org_id=org.id,
                key_id=c.dana_backend.key_id,
                user_id=c.dana_backend.user_id,
                charged=c.charged(c.backend),
                at=DAY + timedelta(hours=2),
                cost=3_000,
            ),
            usage(
                org_id=org.id,
                key_id=key_id,
                user_id=c.sam_sales.user_id,
                charged=[sales_backend, c.sales],
                at=DAY + timedelta(hours=3),
                cost=4_000,
            ),
        ],
    )
    params: dict[str, Any] = {"start": "2026-08-07T00:00:00Z", "end": "2026-08-08T00:00:00Z"}
    for start in ("2026-08-07T00:00:00Z", "2026-08-06T23:59:59Z"):  # rollups, then raw records
        day = {**params, "start": start}
        by_name = org.admin.get("/v1/manage/org/usage", params={**day, "group_by": "group_name"}).json()
        by_id = org.admin.get("/v1/manage/org/usage", params={**day, "group_by": "group_id"}).json()
        named = by_name["usage"]["2026-08-07T00:00:00Z"]["grouped_data"]
        assert [(g["group_by_values"], g["total_requests"], g["spend"]) for g in named] == [
            ({"group_name": "Backend"}, 2, 7e-6)
        ]
        ids = by_id["usage"]["2026-08-07T00:00:00Z"]["grouped_data"]
        assert sorted(g["group_by_values"]["group_id"] for g in ids) == sorted([c.backend, sales_backend])


def test_group_by_repeats_or_lists_with_commas_or_brackets(org: Org, db: Database) -> None:
    _seed(org, db)
    day = {"start": "2026-08-07T00:00:00Z"}
    repeated = org.admin.get("/v1/manage/org/usage", params={**day, "group_by": ["user_id", "model_used"]}).json()
    commas = org.admin.get("/v1/manage/org/usage", params={**day, "group_by": "user_id,model_used"}).json()
    brackets = org.admin.get("/v1/manage/org/usage", params={**day, "group_by[]": ["user_id", "model_used"]}).json()
    assert repeated == commas == brackets
    assert repeated["usage"]["2026-08-07T00:00:00Z"]["grouped_data"][0]["group_by_values"].keys() == {
        "user_id",
        "model_used",
    }
