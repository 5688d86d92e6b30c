"""A person with no email (a SCIM userName alone) cannot be given a panel password."""

from __future__ import annotations

from tests.admin.conftest import PanelSession
from tests.conftest import Org
from tests.scim.conftest import Scim, new_user, scim_token


def test_no_panel_password_without_an_email(owner_panel: PanelSession, org: Org) -> None:
    _id, token = scim_token(org)
    person = new_user(Scim(org.admin.client, token), "svc-nightly")
    answer = owner_panel.post(f"/admin/users/{person['id']}/password")
    assert answer.status_code in (303, 409), answer.text
    page = owner_panel.get(answer.headers["location"]) if answer.status_code == 303 else answer
    assert "no email" in page.text
    events = org.admin.get("/v1/manage/audit", params={"action": "user.password.reset", "target_id": person["id"]})
    assert events.json()["total"] == 0
