"""What every command shares: the settings, the database, the organization it acts on, and how a
mistake is reported — a message on stderr and exit status 1, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError as AlembicError
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.config import Settings
from covey.kit.db import Database
from covey.kit.errors import BadRequest, CoveyError, NotFound
from covey.migrations import runner
from covey.models import Organization
from covey.orgs import repository as orgs
from covey.plane.runtime import announcing

OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        metavar="ORG_ID",
        help="The organization to act on (default: the only one in the database).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


@contextmanager
def reported() -> Iterator[None]:
    """Turn the mistakes a user can make into one line on stderr."""
    try:
        yield
    except CoveyError as exc:
        fail(exc.message)
    except ValidationError as exc:
        fail(_validation_message(exc))
    except AlembicError as exc:
        fail(f"the database could not be migrated: {exc}")
    except ArgumentError as exc:
        fail(f"COVEY_DATABASE_URL is not a database URL ({exc})")
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        fail(
            f"the database refused the command: {reason}\n"
            "Check COVEY_DATABASE_URL, and run `covey db upgrade` if the database is not migrated yet."
        )


def settings() -> Settings:
    with reported():
        return Settings()


@contextmanager
def database(*, migrate: bool = False) -> Iterator[Database]:
    """The database named by COVEY_DATABASE_URL; `migrate` brings it to the newest schema first."""
    with reported():
        config = settings()
        db = Database.connect(config.database_url)
        try:
            if migrate:
                with runner.migration_lock(db.engine):
                    runner.upgrade(db.engine)
            with announcing(db, config):
                yield db
        finally:
            db.dispose()


def resolve_org(session: Session, org_id: str | None) -> Organization:
    if not MigrationContext.configure(session.connection()).get_current_heads():
        raise NotFound("this database is empty: run `covey init` or `covey demo` first")
    if org_id:
        org = orgs.get(session, org_id)
        if org is None:
            raise NotFound(f"no organization {org_id} in this database.{_choices(session)}")
        return org
    found = orgs.all_orgs(session)
    if not found:
        raise NotFound("this database holds no organization yet: run `covey init` or `covey demo` first")
    if len(found) > 1:
        raise BadRequest(f"this database holds {len(found)} organizations; pass --org ORG_ID.{_choices(session)}")
    return found[0]


def _choices(session: Session) -> str:
    found = orgs.all_orgs(session)
    if not found:
        return ""
    return "\nOrganizations:\n" + "\n".join(f"  {org.id}  {org.name}" for org in found)


@contextmanager
def acting(org_id: str | None, *, label: str = "covey cli") -> Iterator[tuple[Session, Caller]]:
    """One transaction in one organization, as the command line: committed if the command succeeds.

    The caller has an owner's rights in that organization, and the services audit every change."""
    with database() as db, reported(), db.transaction() as session:
        org = resolve_org(session, org_id)
        yield session, Caller.system(org.id, label=label)
