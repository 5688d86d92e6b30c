"""`covey keys …`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from covey.cli.context import JsonOption, OrgOption, acting
from covey.cli.lookup import find_group, find_org_owner, find_user, group_paths
from covey.cli.output import emit_json, emit_table
from covey.keys import service
from covey.keys.schemas import KeyCreate

app = typer.Typer(help="API keys: for the gateway, and for the management API.", no_args_is_help=True)

Level = Literal["none", "read", "write"]


@app.command("list")
def list_keys(
    org: OrgOption = None,
    user: Annotated[str | None, typer.Option(help="Only this owner's keys (id or email).")] = None,
    group: Annotated[str | None, typer.Option(help="Only this group's keys (id or path).")] = None,
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List keys (never their secrets)."""
    with acting(org) as (session, caller):
        owner_id = find_user(session, caller, user).id if user else None
        group_id = find_group(session, caller, group).id if group else None
        found = service.list_visible(session, caller, include_revoked=revoked, owner_id=owner_id, group_id=group_id)
        keys = [k.model_dump(mode="json") for k in service.present(session, caller, found)]
        paths = group_paths(session, caller)
    if as_json:
        emit_json({"keys": keys})
        return
    rows: list[dict[str, Any]] = [
        {
            **k,
            "owner": k["owner"]["email"],
            "group": paths.get(k["group"]["id"], k["group"]["id"]) if k["group"] else None,
            "manage": k["permissions"]["manage"],
        }
        for k in keys
    ]
    emit_table(rows, ["id", "name", "prefix", "owner", "group", "manage", "monthly_limit", "status"])


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="A name to recognize the key by.")],
    owner: Annotated[
        str | None, typer.Option(help="The user it is for (id or email; default: the org's owner).")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="The key's group (id or path); without one the key is personal.")
    ] = None,
    manage: Annotated[Level, typer.Option(help="Management API permission.")] = "none",
    completions: Annotated[Level, typer.Option(help="Gateway permission.")] = "write",
    monthly_limit: Annotated[
        str | None, typer.Option("--monthly-limit", metavar="DOLLARS", help="Monthly spend cap; 0 = none.")
    ] = None,
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print its secret, once."""
    with acting(org) as (session, caller):
        owner_id = find_user(session, caller, owner).id if owner else find_org_owner(session, caller).id
        data = KeyCreate.model_validate(
            {
                "name": name,
                "owner_id": owner_id,
                "group_id": find_group(session, caller, group).id if group else None,
                "permissions": {"manage": manage, "completions": completions},
                "monthly_limit": monthly_limit,
            }
        )
        key, secret = service.create(session, caller, data)
    if as_json:
        emit_json({"api_key_id": key.id, "api_key": secret})
    else:
        typer.echo(f"Created key {key.name} ({key.id}). Its secret, shown only now:")
        typer.echo(secret)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id.")],
    org: OrgOption = None,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with acting(org) as (session, caller):
        service.revoke(session, caller, key_id)
    typer.echo(f"Revoked key {key_id}.")
