"""Acceptance: signing in to the panel in Chromium through a real OpenID provider on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sso.conftest import LiveOrg, sign_in_with_sso, sso_body
from tests.sso.provider import Provider, new_key, public, running


def _configure(org: LiveOrg, issuer: str, **fields: Any) -> dict[str, Any]:
    response = org.api.put("/v1/manage/org/sso", json=sso_body(issuer, **fields))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _error(page: Any) -> str:
    return str(page.locator("[role=alert]").inner_text())


def test_sign_in_provisions_into_default_and_mapped_groups_and_links_next_time(
    page: Any, base_url: str, idp: Provider, live_org: LiveOrg
) -> None:
    everyone = live_org.group("Everyone", default=True)
    backend = live_org.group("Backend")
    unmapped = live_org.group("Unmapped")
    _configure(live_org, idp.issuer, group_mapping={"eng-backend": backend})
    idp.account("ana-sub", email="ana@acme.test", email_verified=True, name="Ana", groups=["eng-backend", "other"])

    sign_in_with_sso(page, base_url, live_org.id, "ana-sub")
    assert page.url.startswith(f"{base_url}/admin/")
    ana = live_org.user_by_email("ana@acme.test")
    assert ana is not None and ana["role"] == "member" and ana["name"] == "Ana"
    assert live_org.groups_of(ana["id"]) == {everyone, backend}
    assert unmapped not in live_org.groups_of(ana["id"])
    provisioned = live_org.audit("user.sso_provision")
    assert [e["target_id"] for e in provisioned] == [ana["id"]]

    # A second sign-in finds the same person (by subject): no duplicate, one more audited sign-in.
    page.context.clear_cookies()
    sign_in_with_sso(page, base_url, live_org.id, "ana-sub")
    users = live_org.api.get("/v1/manage/user", params={"q": "ana@acme.test"}).json()["users"]
    assert [u["id"] for u in users] == [ana["id"]]
    assert len(live_org.audit("user.sso_sign_in")) == 2
    assert len(live_org.audit("user.sso_provision")) == 1


def test_an_existing_person_is_linked_by_email(page: Any, base_url: str, idp: Provider, live_org: LiveOrg) -> None:
    _configure(live_org, idp.issuer)
    bo = live_org.user("bo@acme.test")
    idp.account("bo-sub", email="bo@acme.test", email_verified=True)
    sign_in_with_sso(page, base_url, live_org.id, "bo-sub")
    assert page.url.startswith(f"{base_url}/admin/")
    assert [e["target_id"] for e in live_org.audit("user.sso_link")] == [bo]
    assert live_org.user_by_email("bo@acme.test")["id"] == bo  # type: ignore[index]


def test_a_deactivated_person_is_refused(page: Any, base_url: str, idp: Provider, live_org: LiveOrg) -> None:
    _configure(live_org, idp.issuer)
    cy = live_org.user("cy@acme.test")
    assert live_org.api.post(f"/v1/manage/user/{cy}/deactivate").status_code == 200
    idp.account("cy-sub", email="cy@acme.test", email_verified=True)
    sign_in_with_sso(page, base_url, live_org.id, "cy-sub")
    assert page.url.startswith(f"{base_url}/admin/sso/callback")
    assert "deactivated" in _error(page)
    assert page.goto(f"{base_url}/admin/").url.startswith(f"{base_url}/admin/sign-in")
    refused = live_org.audit("user.sso_sign_in.refused")
    assert len(refused) == 1 and "deactivated" in refused[0]["after"]["reason"]


def test_an_address_outside_the_allowed_domains_is_refused(
    page: Any, base_url: str, idp: Provider, live_org: LiveOrg
) -> None:
    _configure(live_org, idp.issuer, allowed_domains=["acme.test"])
    idp.account("eve-sub", email="eve@elsewhere.test", email_verified=True)
    sign_in_with_sso(page, base_url, live_org.id, "eve-sub")
    assert "acme.test" in _error(page)
    assert live_org.user_by_email("eve@elsewhere.test") is None


def test_a_replayed_callback_is_refused(page: Any, base_url: str, idp: Provider, live_org: LiveOrg) -> None:
    _configure(live_org, idp.issuer)
    idp.account("dee-sub", email="dee@acme.test", email_verified=True)
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/admin/sso/callback" in r.url else None)
    sign_in_with_sso(page, base_url, live_org.id, "dee-sub")
    assert page.url.startswith(f"{base_url}/admin/") and len(callbacks) == 1
    # The same state and code again, from the same browser (its state cookie is gone; put it back by
    # starting over is not what a replay does): refused, and nobody is signed in by it.
    page.context.clear_cookies()
    page.goto(callbacks[0])
    assert page.url.startswith(f"{base_url}/admin/sso/callback")
    assert "start again" in _error(page)
    assert page.goto(f"{base_url}/admin/").url.startswith(f"{base_url}/admin/sign-in")


def test_a_token_signed_with_another_key_is_refused(page: Any, base_url: str, workdir: Path, live_org: LiveOrg) -> None:
    signing = new_key("key-1")
    published = public(new_key("key-1"))  # same key id, another key: the signature cannot verify
    with running(
        workdir, redirect_uri=f"{base_url}/admin/sso/callback", signing_keys=[signing], published_keys=[published]
    ) as forger:
        _configure(live_org, forger.issuer)
        forger.account("mal-sub", email="mal@acme.test", email_verified=True)
        sign_in_with_sso(page, base_url, live_org.id, "mal-sub")
    assert "signature" in _error(page)
    assert live_org.user_by_email("mal@acme.test") is None


def test_an_expired_token_is_refused(page: Any, base_url: str, workdir: Path, live_org: LiveOrg) -> None:
    # The provider's clock runs two hours behind: the ID token it signs expired an hour ago.
    with running(
        workdir, redirect_uri=f"{base_url}/admin/sso/callback", signing_keys=[new_key("k")], clock_offset_seconds=-7200
    ) as late:
        _configure(live_org, late.issuer)
        late.account("old-sub", email="old@acme.test", email_verified=True)
        sign_in_with_sso(page, base_url, live_org.id, "old-sub")
    assert "exp" in _error(page)
    assert live_org.user_by_email("old@acme.test") is None
