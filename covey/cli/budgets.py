"""`covey budgets …`: budget lines beyond Requesty's monthly fields (which `covey keys`, `covey users`
and the management API set)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from covey.budgets import service
from covey.budgets.schemas import BudgetCreate
from covey.cli.context import JsonOption, OrgOption, acting
from covey.cli.lookup import find_group, find_user
from covey.cli.output import emit_json, emit_table
from covey.kit.errors import BadRequest

app = typer.Typer(
    help="Budget lines: hard or soft, per month, week or day, with alert thresholds.", no_args_is_help=True
)

OwnerType = Literal["key", "user", "group", "member", "org"]


def _percents(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise BadRequest(f"thresholds: {text!r} is not a comma-separated list of percents") from None


@app.command("list")
def list_budgets(org: OrgOption = None, as_json: JsonOption = False) -> None:
    """Every budget line with this period's spend (counters of a running server are not read here)."""
    with acting(org) as (session, caller):
        lines = service.list_visible(session, caller, owner_type=None, owner_id=None)
        found = [
            b.model_dump(mode="json")
            for b in service.present(caller, lines, tz_name=service.org_timezone(session, caller), guard=None)
        ]
    if as_json:
        emit_json({"budgets": found})
        return
    emit_table(found, ["id", "owner_type", "owner_name", "period", "amount", "enforcement", "thresholds"])


@app.command("add")
def add(
    owner_type: Annotated[
        OwnerType, typer.Argument(help="Whose budget: key, user, group, member (per member of a group) or org.")
    ],
    amount: Annotated[str, typer.Argument(help="Dollars, e.g. 500 or 12.50.")],
    owner: Annotated[
        str | None, typer.Option(help="Key id, user (id or email) or group (id or path); not for org.")
    ] = None,
    period: Annotated[Literal["month", "week", "day"], typer.Option(help="The budget's period.")] = "month",
    soft: Annotated[bool, typer.Option("--soft", help="Only alert; never refuse a request.")] = False,
    thresholds: Annotated[str, typer.Option(help="Alert at these percents, comma-separated.")] = "50,80,100",
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a budget line."""
    with acting(org) as (session, caller):
        owner_id = owner
        if owner and owner_type == "user":
            owner_id = find_user(session, caller, owner).id
        elif owner and owner_type in ("group", "member"):
            owner_id = find_group(session, caller, owner).id
        body = BudgetCreate.model_validate(
            {
                "owner_type": owner_type,
                "owner_id": owner_id,
                "amount": amount,
                "period": period,
                "enforcement": "soft" if soft else "hard",
                "thresholds": _percents(thresholds),
            }
        )
        row = service.create(session, caller, body)
        out = service.present(
            caller, [service.line_of(session, caller, row)], tz_name=service.org_timezone(session, caller), guard=None
        )[0].model_dump(mode="json")
    if as_json:
        emit_json({"budget": out})
    else:
        typer.echo(f"Budget {out['id']}: {out['period']} {out['enforcement']} ${out['amount']} on {out['owner_name']}")


@app.command("remove")
def remove(
    line_id: Annotated[str, typer.Argument(help="The line's id (from `covey budgets list`).")], org: OrgOption = None
) -> None:
    """Remove a budget line."""
    with acting(org) as (session, caller):
        service.delete(session, caller, line_id)
    typer.echo(f"Removed budget {line_id}.")
