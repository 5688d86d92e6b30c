"""`covey report …` (spend and recommendations in the terminal) and `covey usage prune`."""

from __future__ import annotations

from typing import Annotated

import typer

from covey.cli.context import JsonOption, OrgOption, acting, database, fail, reported, settings
from covey.cli.output import emit_json, emit_table
from covey.reports import periods, recommendations, retention, service
from covey.response_store import store as response_store

report_app = typer.Typer(help="Spend reports and recommendations.", no_args_is_help=True)
usage_app = typer.Typer(help="Usage records.", no_args_is_help=True)

MonthOption = Annotated[
    str | None, typer.Option("--month", metavar="YYYY-MM", help="Default: this month, in the organization's timezone.")
]


@report_app.command("groups")
def groups(org: OrgOption = None, month: MonthOption = None, as_json: JsonOption = False) -> None:
    """The group tree with each group's spend (its subtree's), budget and share of its parent."""
    with acting(org) as (session, caller):
        tree = service.group_tree(session, caller, month=periods.parse_month(month))
        spend = {g.group_id: g for g in service.group_spend(session, caller, months=2, group_id=None).groups}
    if as_json:
        emit_json(tree.model_dump(mode="json"))
        return
    rows = [
        {
            "group": "  " * n.depth + n.name,
            "spend": n.spend,
            "requests": n.requests,
            "budget": n.monthly_budget,
            "of budget": n.budget_used,
            "of parent": n.share_of_parent,
            "projected": spend[n.group_id].projected if month is None and n.group_id in spend else None,
        }
        for n in tree.nodes
    ]
    typer.echo(f"Spend in {tree.month} (USD); org total {tree.org_total}")
    emit_table(rows, ["group", "spend", "requests", "budget", "of budget", "of parent", "projected"])


@report_app.command("allocation")
def allocation(org: OrgOption = None, month: MonthOption = None, as_json: JsonOption = False) -> None:
    """Cost allocation for a month: every nano-dollar on one line, summing to the org total."""
    with acting(org) as (session, caller):
        report = service.allocation(session, caller, month=periods.parse_month(month))
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    rows = [
        {
            "kind": line.kind,
            "line": line.path or line.email or line.group_id,
            "requests": line.requests,
            "spend": line.spend,
        }
        for line in report.lines
    ]
    emit_table(rows, ["kind", "line", "requests", "spend"])
    typer.echo(f"Org total {report.month}: {report.org_total} USD")


@report_app.command("recommendations")
def recommend(org: OrgOption = None, as_json: JsonOption = False) -> None:
    """Usage-based recommendations, with the figures behind each."""
    with acting(org) as (session, caller):
        found = recommendations.recommend(session, caller)
    if as_json:
        emit_json(found.model_dump(mode="json"))
        return
    if not found.recommendations:
        typer.echo("(none)")
    for r in found.recommendations:
        figures = ", ".join(f"{k}={v}" for k, v in r.figures.items())
        typer.echo(f"[{r.kind}] {r.message}\n    {figures}")


@usage_app.command("prune")
def prune(
    days: Annotated[int | None, typer.Option("--days", min=1, help="Default: COVEY_USAGE_RETENTION_DAYS.")] = None,
    org: Annotated[str | None, typer.Option("--org", metavar="ORG_ID", help="Default: every organization.")] = None,
) -> None:
    """Delete usage records and stored responses older than the retention period; the rollups stay."""
    keep = days if days is not None else settings().usage_retention_days
    if keep is None:
        fail("no retention period: pass --days N or set COVEY_USAGE_RETENTION_DAYS")
    with database() as db, reported():
        deleted = retention.prune_usage(db, older_than=retention.cutoff(keep), org_id=org)
        forgotten = response_store.prune(db, older_than=retention.cutoff(keep), org_id=org)
    typer.echo(f"Deleted {deleted} usage records and {forgotten} stored responses older than {keep} days.")
