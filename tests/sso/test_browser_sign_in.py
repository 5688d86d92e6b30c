"""Acceptance: signing in to the panel in Chromium through a real OpenID provider on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from covey.auth.caller import Caller
from covey.kit.db import Database
from covey.users import service as users_service
from tests.admin.browser import free_port, sign_in
from tests.sso.conftest import LiveOrg, sign_in_with_sso, sso_body
from tests.sso.provider import Provider, new_key, public, running, wait_for_port_free

SCHEMA = "urn:ietf:params:scim:schemas:core:2.0"


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


SCIM_TYPE = "application/scim+json"


def _scim(live_org: LiveOrg, base_url: str) -> httpx.Client:
    made = live_org.api.post("/v1/manage/scim/token", json={"name": "okta"})
    assert made.status_code == 200, made.text
    headers = {"Authorization": f"Bearer {made.json()['token']}", "Content-Type": SCIM_TYPE, "Accept": SCIM_TYPE}
    return httpx.Client(base_url=f"{base_url}/scim/v2", headers=headers, timeout=30)


def test_scim_groups_and_the_groups_claim_land_a_person_in_the_same_groups(
    page: Any, base_url: str, idp: Provider, live_org: LiveOrg
) -> None:
    with _scim(live_org, base_url) as scim:
        made = scim.post(
            "/Users",
            json={"schemas": [f"{SCHEMA}:User"], "userName": "ana@acme.test", "externalId": "00u-ana"},
        )
        assert made.status_code == 201, made.text
        ana = made.json()["id"]

        def pushed(name: str, external_id: str, members: list[str]) -> str:
            body = {
                "schemas": [f"{SCHEMA}:Group"],
                "displayName": name,
                "externalId": external_id,
                "members": [{"value": m} for m in members],
            }
            response = scim.post("/Groups", json=body)
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        backend = pushed("Backend", "00g-backend", [ana])
        data = pushed("Data", "00g-data", [])
        ops = live_org.group("Ops")
        _configure(live_org, idp.issuer, group_mapping={"ops-team": ops})
        groups_before = len(live_org.api.get("/v1/manage/group").json()["groups"])

        # Okta names groups in the claim, Entra sends their object ids (SCIM's externalId): both name the
        # groups SCIM pushed, and the explicit mapping names Ops.
        idp.account("00u-ana", email="ana@acme.test", email_verified=True, groups=["Backend", "00g-data", "ops-team"])
        sign_in_with_sso(page, base_url, live_org.id, "00u-ana")
        assert live_org.user_by_email("ana@acme.test")["id"] == ana  # type: ignore[index]
        assert {backend, data, ops} <= live_org.groups_of(ana)
        assert len(live_org.api.get("/v1/manage/group").json()["groups"]) == groups_before
        members = scim.get(f"/Groups/{backend}").json()["members"]
        assert [m["value"] for m in members] == [ana]

        # The claim drops every group: Ops (mapped, added by the claim) follows it; the groups SCIM
        # pushes keep their members until SCIM itself changes them.
        idp.account("00u-ana", email="ana@acme.test", email_verified=True, groups=[])
        page.context.clear_cookies()
        sign_in_with_sso(page, base_url, live_org.id, "00u-ana")
        assert ops not in live_org.groups_of(ana)
        assert {backend, data} <= live_org.groups_of(ana)

        removed = scim.patch(
            f"/Groups/{data}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": f'members[value eq "{ana}"]'}],
            },
        )
        assert removed.status_code in (200, 204), removed.text
        assert data not in live_org.groups_of(ana)
        assert backend in live_org.groups_of(ana)


def test_password_sign_in_can_be_turned_off(
    page: Any, base_url: str, db: Database, idp: Provider, live_org: LiveOrg
) -> None:
    with db.transaction() as session:
        owner, password = users_service.reset_password(session, Caller.system(live_org.id), live_org.owner_id)
        email = str(owner.email)
    sign_in(page, base_url, email, password)
    assert page.url.startswith(f"{base_url}/admin/") and "sign-in" not in page.url
    page.context.clear_cookies()

    _configure(live_org, idp.issuer, password_sign_in=False)
    sign_in(page, base_url, email, password)
    assert "identity provider" in _error(page)
    assert page.goto(f"{base_url}/admin/").url.startswith(f"{base_url}/admin/sign-in")
    # Through the provider the same person still comes in, linked by email.
    idp.account("owner-sub", email=email, email_verified=True)
    sign_in_with_sso(page, base_url, live_org.id, "owner-sub")
    assert page.url.startswith(f"{base_url}/admin/") and "sign-in" not in page.url


def test_the_issuer_rotating_its_signing_key_is_followed(
    page: Any, base_url: str, workdir: Path, live_org: LiveOrg
) -> None:
    port = free_port()
    redirect = f"{base_url}/admin/sso/callback"
    with running(workdir, redirect_uri=redirect, signing_keys=[new_key("old-key")], port=port) as before:
        _configure(live_org, before.issuer)
        before.account("rot-sub", email="rot@acme.test", email_verified=True)
        sign_in_with_sso(page, base_url, live_org.id, "rot-sub")  # Covey now holds the old key set
        assert "sign-in" not in page.url
    wait_for_port_free(port)
    # Same issuer, a new key under a new key id: Covey reads the key set again and accepts it.
    with running(workdir, redirect_uri=redirect, signing_keys=[new_key("new-key")], port=port) as after:
        after.account("rot-sub", email="rot@acme.test", email_verified=True)
        page.context.clear_cookies()
        sign_in_with_sso(page, base_url, live_org.id, "rot-sub")
        assert page.url.startswith(f"{base_url}/admin/") and "sign-in" not in page.url
    assert len(live_org.audit("user.sso_sign_in")) == 2


def test_an_id_token_made_for_another_sign_in_is_refused(
    page: Any, base_url: str, idp: Provider, live_org: LiveOrg
) -> None:
    """The browser's trip to the provider is rewritten to carry another nonce (as when an attacker
    slips in an ID token issued for a sign-in of theirs): the code is good, the nonce is not Covey's."""
    _configure(live_org, idp.issuer)
    idp.account("nonce-sub", email="nonce@acme.test", email_verified=True)
    rewritten: list[str] = []

    def other_nonce(route: Any) -> None:
        # Covey answers the sign-in button with a redirect to the provider; the redirect is rewritten.
        answer = route.fetch(max_redirects=0)
        parts = urlsplit(answer.headers["location"])
        query = [(k, "not-the-nonce-covey-sent" if k == "nonce" else v) for k, v in parse_qsl(parts.query)]
        rewritten.append(answer.headers["location"])
        headers = {**answer.headers, "location": urlunsplit(parts._replace(query=urlencode(query)))}
        route.fulfill(status=answer.status, headers=headers)

    page.route(lambda url: f"/admin/sso/{live_org.id}" in url, other_nonce)
    page.goto(f"{base_url}/admin/sign-in")
    page.click(f"a[href^='/admin/sso/{live_org.id}']")
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", "nonce-sub")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/**")
    assert rewritten, "the provider's authorization endpoint was never reached"
    assert "nonce" in _error(page)
    assert live_org.user_by_email("nonce@acme.test") is None
    assert page.goto(f"{base_url}/admin/").url.startswith(f"{base_url}/admin/sign-in")
