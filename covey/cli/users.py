"""`covey users …`."""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

from covey.cli.context import JsonOption, OrgOption, acting
from covey.cli.lookup import find_user
from covey.cli.output import emit_json, emit_table
from covey.kit.pagination import Page
from covey.users import csv_import, service
from covey.users.schemas import UserCreate, UserOut

app = typer.Typer(help="People in an organization.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(metavar="USER", help="The user's id or email.")]
_PAGE = 500


@app.command("list")
def list_users(
    org: OrgOption = None,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Part of an email or name.")] = None,
    role: Annotated[Literal["owner", "admin", "member"] | None, typer.Option(help="Only this org role.")] = None,
    status: Annotated[Literal["active", "deactivated"] | None, typer.Option(help="Only this status.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List users, by email."""
    with acting(org) as (session, caller):
        found: list[UserOut] = []
        while True:
            rows, total = service.search(
                session,
                caller,
                q=search,
                role=role,
                status=status,
                group_id=None,
                page=Page(limit=_PAGE, offset=len(found)),
            )
            found += [UserOut.of(u) for u in rows]
            if not rows or len(found) >= total:
                break
    if as_json:
        emit_json({"users": [u.model_dump(mode="json") for u in found]})
    else:
        emit_table([u.model_dump() for u in found], ["id", "email", "name", "role", "status", "monthly_limit"])


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="Their email, unique in the organization.")],
    name: Annotated[str | None, typer.Option(help="Their name (default: from the email).")] = None,
    role: Annotated[Literal["owner", "admin", "member"], typer.Option(help="Their org role.")] = "member",
    monthly_limit: Annotated[
        str | None, typer.Option("--monthly-limit", metavar="DOLLARS", help="Monthly spend cap; 0 = none.")
    ] = None,
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user; they join every default group."""
    fields = {"email": email, "name": name, "role": role}
    if monthly_limit is not None:
        fields["monthly_limit"] = monthly_limit
    with acting(org) as (session, caller):
        user = UserOut.of(service.create(session, caller, UserCreate.model_validate(fields)))
    if as_json:
        emit_json({"user_id": user.id, "user": user.model_dump(mode="json")})
    else:
        typer.echo(f"Created user {user.email or user.user_name} ({user.id}).")


@app.command("deactivate")
def deactivate(user: UserArg, org: OrgOption = None) -> None:
    """Deactivate a user: all their keys stop working."""
    with acting(org) as (session, caller):
        done = service.set_status(session, caller, find_user(session, caller, user).id, active=False)
    typer.echo(f"Deactivated {done.label}.")


@app.command("activate")
def activate(user: UserArg, org: OrgOption = None) -> None:
    """Reactivate a deactivated user."""
    with acting(org) as (session, caller):
        done = service.set_status(session, caller, find_user(session, caller, user).id, active=True)
    typer.echo(f"Activated {done.label}.")


@app.command("password")
def password(user: UserArg, org: OrgOption = None, as_json: JsonOption = False) -> None:
    """Give a user a new admin-panel password, printed once."""
    with acting(org) as (session, caller):
        done, secret = service.reset_password(session, caller, find_user(session, caller, user).id)
    if as_json:
        emit_json({"user_id": done.id, "email": done.email, "password": secret})
    else:
        typer.echo(f"New admin panel password for {done.label}: {secret}")
        typer.echo("(shown once; they sign in at /admin/)")


@app.command("import")
def import_csv(
    file: Annotated[
        typer.FileText, typer.Argument(metavar="FILE.csv", help="Columns: " + ", ".join(csv_import.COLUMNS))
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and print what would change.")] = False,
    create_groups: Annotated[bool, typer.Option("--create-groups", help="Create groups named but missing.")] = False,
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create or update users from a CSV file: every row, or (on any bad row) none."""
    with acting(org) as (session, caller), typer.progressbar(length=1, label="Importing", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        summary = csv_import.import_users(
            session, caller, file, create_groups=create_groups, dry_run=dry_run, progress=progress
        )
    if as_json:
        emit_json(summary.as_dict())
        return
    verb = "Would create" if dry_run else "Created"
    typer.echo(
        f"{verb} {len(summary.created)}, updated {len(summary.updated)}, unchanged {summary.unchanged}; "
        f"memberships added {summary.memberships_added}; groups created {len(summary.groups_created)}."
    )
    for path in summary.groups_created:
        typer.echo(f"  new group: {path}")
