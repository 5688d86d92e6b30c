"""The `covey` command, grouped by noun. Each command opens one transaction as the command line
(`Caller.system`) in one organization and calls a service, which audits the change."""

from __future__ import annotations

import typer

from covey.cli import budgets, groups, keys, limits, orgs, sso, users
from covey.cli.bootstrap import demo, init
from covey.cli.doctor import doctor
from covey.cli.reports import report_app, usage_app
from covey.cli.server import db_app, serve

# No local variables in tracebacks: they could hold secrets.
app = typer.Typer(
    help="Covey: a self-hosted LLM gateway for organizations, with nested groups and keys.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.command()(init)
app.command()(demo)
app.command()(serve)
app.command()(doctor)
app.add_typer(db_app, name="db")
app.add_typer(orgs.app, name="orgs")
app.add_typer(users.app, name="users")
app.add_typer(groups.app, name="groups")
app.add_typer(keys.app, name="keys")
app.add_typer(budgets.app, name="budgets")
app.add_typer(limits.app, name="limits")
app.add_typer(sso.app, name="sso")
app.add_typer(report_app, name="report")
app.add_typer(usage_app, name="usage")


def main() -> None:
    app()
