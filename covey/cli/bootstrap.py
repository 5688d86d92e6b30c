"""`covey init` and `covey demo`: a new organization, or the demo one, with credentials printed once."""

from __future__ import annotations

from typing import Annotated

import typer

from covey.cli.context import JsonOption, database, reported, settings
from covey.cli.output import emit_json
from covey.demo.roster import GROUPS, PEOPLE, TRAFFIC_DAYS
from covey.demo.seed import seed
from covey.orgs.bootstrap import create_org


def _credentials(*, org_id: str, email: str, password: str, api_key: str, api_key_id: str) -> dict[str, str]:
    return {
        "org_id": org_id,
        "admin_email": email,
        "admin_password": password,
        "admin_api_key": api_key,
        "admin_api_key_id": api_key_id,
    }


def _show(headline: str, creds: dict[str, str]) -> None:
    config = settings()
    server = f"http://{config.host}:{config.port}"
    typer.echo(headline)
    typer.echo("")
    typer.echo(f"  Organization id  {creds['org_id']}")
    typer.echo(f"  Admin API key    {creds['admin_api_key']}")
    typer.echo("                   (shown once: keep it now; `covey keys create` makes more)")
    typer.echo(f"  Admin panel      {server}/admin/")
    typer.echo(f"  Sign in as       {creds['admin_email']}")
    typer.echo(f"  Password         {creds['admin_password']}")
    typer.echo("")
    typer.echo(f"  Server           {server}   (start it with `covey serve`)")
    typer.echo("  Try:")
    typer.echo(f'    curl -s {server}/v1/manage/group -H "Authorization: Bearer {creds["admin_api_key"]}"')


def init(
    org_name: Annotated[str, typer.Option("--org-name", help="The new organization's name.")] = "My Organization",
    email: Annotated[str, typer.Option("--email", help="The owner's email, to sign in with.")] = "admin@example.com",
    as_json: JsonOption = False,
) -> None:
    """Create a new organization with its owner and a first admin API key (migrating the database first)."""
    with database(migrate=True) as db, reported(), db.transaction() as session:
        made = create_org(session, name=org_name, owner_email=email)
        creds = _credentials(
            org_id=made.org.id,
            email=made.owner.label,
            password=made.password,
            api_key=made.api_key,
            api_key_id=made.api_key_id,
        )
    if as_json:
        emit_json(creds)
    else:
        _show(f'Created organization "{org_name}".', creds)


def demo(as_json: JsonOption = False) -> None:
    """Seed the demo organization, Acme Corp (once), and print fresh admin credentials for it."""
    with database(migrate=True) as db, reported(), db.transaction() as session:
        seeded = seed(session)
        creds = _credentials(
            org_id=seeded.org.id,
            email=seeded.owner.label,
            password=seeded.password,
            api_key=seeded.api_key,
            api_key_id=seeded.api_key_id,
        )
    if as_json:
        emit_json(creds)
    elif seeded.created:
        made = f"{len(PEOPLE)} people in {len(GROUPS)} groups, keys, budgets and {TRAFFIC_DAYS} days of usage"
        _show(f'Created the demo organization "{seeded.org.name}": {made}.', creds)
    else:
        _show(f'The demo organization "{seeded.org.name}" exists already: fresh credentials for it.', creds)
