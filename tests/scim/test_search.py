"""Filters, paging and search, on users and groups."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Org
from tests.scim.conftest import Scim, assert_scim_error, new_group, new_user, scim_token


@pytest.fixture
def people(org: Org) -> tuple[Scim, dict[str, str]]:
    scim = Scim(org.admin.client, scim_token(org)[1])
    ids = {
        "ann": new_user(scim, "ann@acme.test", displayName="Ann Archer", externalId="X-ann")["id"],
        "bob": new_user(scim, "bob@acme.test", displayName="Bob Baker")["id"],
        "cy": new_user(scim, "cy@other.test", displayName="Cy Archer", externalId="X-cy")["id"],
    }
    new_group(scim, "Archers", [ids["ann"], ids["cy"]], externalId="G-arch")
    new_group(scim, "Bakers", [ids["bob"]])
    return scim, ids


def _user_ids(scim: Scim, expression: str) -> set[str]:
    response = scim.get("/Users", params={"filter": expression})
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()["Resources"]}


def _names(scim: Scim, expression: str) -> set[str]:
    response = scim.get("/Groups", params={"filter": expression})
    assert response.status_code == 200, response.text
    return {r["displayName"] for r in response.json()["Resources"]}


def test_user_filters(people: tuple[Scim, dict[str, str]]) -> None:
    scim, ids = people
    assert _user_ids(scim, 'userName eq "ANN@acme.test"') == {ids["ann"]}
    assert _user_ids(scim, 'userName co "acme"') == {ids["ann"], ids["bob"]}
    assert _user_ids(scim, 'userName sw "c"') == {ids["cy"]}
    assert _user_ids(scim, 'userName ew ".test" and displayName co "archer"') == {ids["ann"], ids["cy"]}
    assert _user_ids(scim, "externalId pr") == {ids["ann"], ids["cy"]}
    assert _user_ids(scim, 'externalId eq "x-ann"') == set()  # externalId is case-exact
    assert _user_ids(scim, 'emails.value eq "bob@acme.test" or externalId eq "X-cy"') == {ids["bob"], ids["cy"]}
    assert _user_ids(scim, 'emails[value sw "bob"]') == {ids["bob"]}
    assert _user_ids(scim, 'not (displayName sw "Ann") and userName co "acme"') == {ids["bob"]}
    assert _user_ids(scim, 'userName co "100%_"') == set()  # LIKE wildcards are literal
    assert _user_ids(scim, f'id eq "{ids["ann"]}"') == {ids["ann"]}


def test_group_filters(people: tuple[Scim, dict[str, str]]) -> None:
    scim, ids = people
    assert _names(scim, 'displayName eq "archers"') == {"Archers"}
    assert _names(scim, f'members.value eq "{ids["bob"]}"') == {"Bakers"}
    assert _names(scim, f'members eq "{ids["cy"]}"') == {"Archers"}
    assert _names(scim, f'members[value eq "{ids["ann"]}"] and externalId eq "G-arch"') == {"Archers"}
    assert _names(scim, 'displayName sw "B" or displayName sw "A"') == {"Archers", "Bakers"}


def test_bad_filters_are_invalid_filter(people: tuple[Scim, dict[str, str]]) -> None:
    scim, _ids = people
    for expression in ("userName eq", 'nickName eq "x"', 'active co "tr"', "userName eq 'single'"):
        assert_scim_error(scim.get("/Users", params={"filter": expression}), 400, "invalidFilter")
    assert_scim_error(scim.get("/Groups", params={"filter": 'userName eq "x"'}), 400, "invalidFilter")


def test_paging_with_start_index_and_count(people: tuple[Scim, dict[str, str]]) -> None:
    scim, ids = people
    seen: list[str] = []
    for start in (1, 3, 5):
        page = scim.get("/Users", params={"startIndex": start, "count": 2}).json()
        assert page["totalResults"] == 4  # three people and the org's owner
        assert page["startIndex"] == start
        seen += [r["id"] for r in page["Resources"]]
    assert len(seen) == len(set(seen)) == 4
    assert set(ids.values()) < set(seen)
    counted = scim.get("/Users", params={"count": 0}).json()
    assert counted["totalResults"] == 4 and counted.get("Resources", []) == []


def test_search_by_post(people: tuple[Scim, dict[str, str]]) -> None:
    scim, ids = people
    request: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'displayName co "archer"',
        "attributes": ["userName"],
        "startIndex": 1,
        "count": 10,
    }
    found = scim.post("/Users/.search", json=request).json()
    assert {r["id"] for r in found["Resources"]} == {ids["ann"], ids["cy"]}
    assert all(set(r) == {"schemas", "id", "userName"} for r in found["Resources"])

    groups = scim.post("/Groups/.search", json={**request, "attributes": ["displayName"]}).json()
    assert {r["displayName"] for r in groups["Resources"]} == {"Archers"}

    # At the root: both resource types, each filter attribute false where a type lacks it.
    both = scim.post("/.search", json={**request, "attributes": None}).json()
    assert both["totalResults"] == 3
    kinds = sorted(r["schemas"][0].rsplit(":", 1)[1] for r in both["Resources"])
    assert kinds == ["Group", "User", "User"]
    page = scim.post("/.search", json={**request, "attributes": None, "startIndex": 3, "count": 1}).json()
    assert page["totalResults"] == 3 and [r["displayName"] for r in page["Resources"]] == ["Archers"]
