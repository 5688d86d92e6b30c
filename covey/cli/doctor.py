"""`covey doctor [--repair]`: the budget counters against the usage records, and docs/design.md §3's invariant."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from covey.budgets import doctor as checks
from covey.budgets.runtime import load_book, make_store
from covey.cli.context import OrgOption, database, reported, resolve_org, settings
from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.orgs import repository as orgs

EMBEDDED = (
    "No COVEY_REDIS_URL: the counters live in the `covey serve` process, which rebuilds them from the usage "
    "records at every start; ask it with GET /v1/manage/doctor. Checking the invariant only."
)


async def _run(db: Database, org_ids: list[str], *, repair: bool) -> tuple[checks.Report, bool]:
    config = settings()
    book = await asyncio.to_thread(load_book, db)
    store = make_store(config)
    try:
        report = await checks.examine(db, store, book=book, at=utcnow(), org_ids=org_ids)
        if store.kind == "memory":
            return checks.Report(invariants=report.invariants), False
        if repair:
            await checks.repair(store, report)
        return report, True
    finally:
        await store.close()


def doctor(
    org: OrgOption = None,
    repair: Annotated[bool, typer.Option("--repair", help="Set drifted counters to the usage records' sums.")] = False,
) -> None:
    """Check this period's budget counters against the usage records; --repair fixes any drift."""
    with database() as db, reported():
        with db.sessions() as session:
            org_ids = [resolve_org(session, org).id] if org else [o.id for o in orgs.all_orgs(session)]
        report, shared = asyncio.run(_run(db, org_ids, repair=repair))
    if not shared:
        typer.echo(EMBEDDED)
    for line in report.lines(counters=shared):
        typer.echo(line)
    broken = any(not i.holds for i in report.invariants)
    if broken or (report.drifts and not report.repaired):
        raise typer.Exit(1)
