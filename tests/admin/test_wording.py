"""Bad input in plain sentences, through the panel's forms and from the validation errors themselves."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from covey.admin.wording import plain_errors
from covey.groups.schemas import GroupCreate
from covey.keys.schemas import KeyLimit
from tests.admin.conftest import PanelSession
from tests.conftest import Org


class _Form(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    monthly_limit: int = Field(ge=0)
    access_list_id: str


def _problems(data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate(data)
    return plain_errors(caught.value.errors())


def test_each_problem_is_a_sentence_naming_the_field() -> None:
    assert _problems({"name": "", "monthly_limit": 0, "access_list_id": "x"}) == "Name cannot be empty."
    assert _problems({"name": "abcdef", "monthly_limit": 0, "access_list_id": "x"}) == (
        "Name can have at most 5 characters."
    )
    assert _problems({"name": "a", "monthly_limit": "many", "access_list_id": "x"}) == (
        "Monthly limit must be a whole number."
    )
    assert _problems({"name": "a", "monthly_limit": -1}) == "Monthly limit must be at least 0. Access list is required."


def test_domain_rules_keep_their_words_and_lose_the_prefix() -> None:
    with pytest.raises(ValidationError) as caught:
        KeyLimit.model_validate({"monthly_limit": "-3"})
    text = plain_errors(caught.value.errors())
    assert text == "Monthly limit must not be negative."
    with pytest.raises(ValidationError) as caught:
        GroupCreate.model_validate({"name": ""})
    assert plain_errors(caught.value.errors()) == "Name cannot be empty."


def test_the_panel_says_it_plainly(owner_panel: PanelSession, org: Org) -> None:
    refused = owner_panel.post("/admin/groups", {"name": "   "})
    assert refused.status_code == 303
    shown = owner_panel.get(refused.headers["location"]).text
    assert "Name cannot be empty." in shown
    assert "String should" not in shown


def test_already_a_member_names_the_person_and_the_group_by_path(owner_panel: PanelSession, org: Org) -> None:
    engineering = org.group("Engineering")
    backend = org.group("Backend", parent_id=engineering)
    person = org.user(name="Ana Ruiz")
    org.add_member(backend, person)
    outside = owner_panel.fetch(f"/admin/groups/{engineering}/members/{person}/move", {"to_group_id": backend})
    assert outside.json()["error"]["message"] == "Ana Ruiz is not a member of Engineering"
    org.add_member(engineering, person)
    moved = owner_panel.fetch(f"/admin/groups/{engineering}/members/{person}/move", {"to_group_id": backend})
    assert moved.status_code == 409
    assert moved.json()["error"]["message"] == "Ana Ruiz is already a member of Engineering › Backend"


def test_deleting_a_group_with_subgroups_says_what_to_do(owner_panel: PanelSession, org: Org) -> None:
    parent = org.group("With children")
    org.group("Child", parent_id=parent)
    refused = owner_panel.post(f"/admin/groups/{parent}/delete", {})
    shown = owner_panel.get(refused.headers["location"]).text
    notice = shown.split('class="notice error"', 1)[1].split("</div>", 1)[0]
    assert "With children has a subgroup. Tick “With all its subgroups”" in notice and "recursive" not in notice
    assert org.admin.get(f"/v1/manage/group/{parent}").status_code == 200
    deleted = owner_panel.post(f"/admin/groups/{parent}/delete", {"recursive": "true"})
    assert deleted.headers["location"] == "/admin/groups"
    assert org.admin.get(f"/v1/manage/group/{parent}").status_code == 404
