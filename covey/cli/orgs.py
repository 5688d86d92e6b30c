"""`covey orgs …`."""

from __future__ import annotations

import typer

from covey.cli.context import JsonOption, database, reported
from covey.cli.output import emit_json, emit_table
from covey.orgs import repository
from covey.orgs.schemas import OrgOut

app = typer.Typer(help="The organizations in this database.", no_args_is_help=True)


@app.command("list")
def list_orgs(as_json: JsonOption = False) -> None:
    """List the organizations, oldest first: their ids are what --org takes."""
    with database() as db, reported(), db.sessions() as session:
        found = [OrgOut.of(org).model_dump(mode="json") for org in repository.all_orgs(session)]
    if as_json:
        emit_json({"orgs": found})
    else:
        emit_table(found, ["id", "name", "created_at"])
