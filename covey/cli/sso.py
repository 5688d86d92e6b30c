"""`covey sso …`: the organization's sign-in through its OpenID Connect identity provider."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from covey.cli.context import JsonOption, OrgOption, acting, fail, settings
from covey.cli.lookup import find_group
from covey.cli.output import emit_json
from covey.kit.errors import NotFound
from covey.sso import service
from covey.sso.schemas import CALLBACK_PATH, SsoSettings, SsoSettingsOut

app = typer.Typer(help="Sign-in to the admin panel through the organization's identity provider.", no_args_is_help=True)


def _show(out: dict[str, Any]) -> None:
    secret = out["client_secret_env"] or "none (a public client, PKCE only)"
    if out["client_secret_env"] and not out["client_secret_set"]:
        secret += " (not set in this environment)"
    mapping = ", ".join(f"{idp} → {gid}" for idp, gid in out["group_mapping"].items()) or "none"
    for label, value in [
        ("Issuer", out["issuer"]),
        ("Client id", out["client_id"]),
        ("Client secret from", secret),
        ("Button label", out["label"] or "(the organization's name)"),
        ("Allowed domains", ", ".join(out["allowed_domains"]) or "any"),
        ("Groups claim", out["groups_claim"]),
        ("Group mapping", mapping),
        ("Password sign-in", "on" if out["password_sign_in"] else "off"),
        ("Redirect URI", f"<Covey's address>{CALLBACK_PATH}"),
    ]:
        typer.echo(f"{label + ':':20} {value}")


def _emit(row: Any, as_json: bool) -> None:
    out = SsoSettingsOut.of(row).model_dump(mode="json")
    if as_json:
        emit_json({"sso": out})
    else:
        _show(out)


@app.command("show")
def show(org: OrgOption = None, as_json: JsonOption = False) -> None:
    """Show the organization's single sign-on settings."""
    with acting(org) as (session, caller):
        row = service.get(session, caller)
        _emit(row, as_json)


@app.command("set")
def set_sso(
    issuer: Annotated[
        str | None, typer.Option(help="The issuer URL (its /.well-known/openid-configuration is read).")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="The client id registered at the identity provider.")] = None,
    secret_env: Annotated[
        str | None,
        typer.Option(help="The COVEY_SSO_SECRET_… variable that holds the client secret; '' for a public client."),
    ] = None,
    label: Annotated[str | None, typer.Option(help='The button says "Sign in with <label>".')] = None,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="An email domain that may sign in (repeat; none: any).")
    ] = None,
    any_domain: Annotated[bool, typer.Option("--any-domain", help="Let every email domain sign in.")] = False,
    groups_claim: Annotated[str | None, typer.Option(help="The ID token claim that lists the IdP groups.")] = None,
    map_group: Annotated[
        list[str] | None,
        typer.Option("--map", metavar="IDP_GROUP=GROUP", help="Map an IdP group to a group (id or path; repeat)."),
    ] = None,
    unmap: Annotated[list[str] | None, typer.Option("--unmap", metavar="IDP_GROUP", help="Drop a mapping.")] = None,
    password_sign_in: Annotated[
        bool | None, typer.Option("--password-sign-in/--no-password-sign-in", help="Whether passwords still work.")
    ] = None,
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set up or change single sign-on: what is not given keeps its value."""
    allowed_hosts = settings().oidc_allowed_hosts
    with acting(org) as (session, caller):
        try:
            body: dict[str, Any] = service.as_input(service.get(session, caller))
        except NotFound:
            if issuer is None or client_id is None:
                fail("this organization has no single sign-on yet: give --issuer and --client-id")
            body = {}
        given: dict[str, Any] = {
            "issuer": issuer,
            "client_id": client_id,
            "label": label,
            "groups_claim": groups_claim,
            "password_sign_in": password_sign_in,
        }
        body.update({k: v for k, v in given.items() if v is not None})
        if secret_env is not None:
            body["client_secret_env"] = secret_env or None
        if any_domain and domain:
            fail("give --domain or --any-domain, not both")
        if any_domain:
            body["allowed_domains"] = []
        elif domain:
            body["allowed_domains"] = domain
        mapping = dict(body.get("group_mapping") or {})
        for name in unmap or []:
            if mapping.pop(name, None) is None:
                fail(f"no mapping for the IdP group {name!r}")
        for pair in map_group or []:
            idp_group, sep, ref = pair.partition("=")
            if not sep or not idp_group.strip() or not ref.strip():
                fail(f"--map takes IDP_GROUP=GROUP, not {pair!r}")
            mapping[idp_group.strip()] = find_group(session, caller, ref.strip()).id
        body["group_mapping"] = mapping
        row = service.put(session, caller, SsoSettings.model_validate(body), allowed_hosts=allowed_hosts)
        _emit(row, as_json)


@app.command("remove")
def remove(org: OrgOption = None) -> None:
    """End sign-in through the identity provider; passwords work again for everyone who has one."""
    with acting(org) as (session, caller):
        service.delete(session, caller)
    typer.echo("Single sign-on removed: people sign in with their passwords.")
