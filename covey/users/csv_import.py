"""Bulk import of users from CSV: columns `email, name, role, groups, monthly_limit`.

The whole file is checked before anything is written; one bad row refuses the file, each problem
named with its line number. Applying goes through the users and groups services (default groups,
rules, one audit event per change) and only flushes: the caller's transaction makes it all or nothing.
Lookups are batched (existing users by the hundred, group paths once each, memberships per group), so
a file of ten thousand rows costs a few queries per *new* user rather than per cell.

- `email` is required and unique in the file; an existing user is updated, a new one created.
- `name`, `role` (owner, admin, member) and `monthly_limit` (dollars, 0 = none) left empty change
  nothing on an existing user; a new one gets the defaults (name from the email, member, the org's limit).
- `groups` lists group paths separated by `;`, e.g. `Engineering/Backend Engineers; Everyone`; the user
  is added to each (never removed from others). A missing group is an error unless `create_groups`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from covey.auth.caller import Caller
from covey.groups import repository as groups_repo
from covey.groups import service as groups_service
from covey.groups.schemas import GroupCreate
from covey.kit.clock import utcnow
from covey.kit.errors import BadRequest
from covey.kit.fields import Email, Name, limit_nanos
from covey.kit.money import MoneyError, parse_dollars
from covey.models import MAX_DEPTH, ORG_ROLES, User
from covey.users import repository as users_repo
from covey.users import service as users_service
from covey.users.schemas import UserCreate, UserUpdate

COLUMNS = ("email", "name", "role", "groups", "monthly_limit")
MAX_ROWS = 100_000
_SHOWN_PROBLEMS = 20
_LOOKUP_BATCH = 500
# New users created per batch (and progress reported between batches).
_CREATE_BATCH = 500

_EMAIL: TypeAdapter[str] = TypeAdapter(Email)
_NAME: TypeAdapter[str] = TypeAdapter(Name)

# Called with (rows done, rows in all) while the file is applied.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class CsvImportError(BadRequest):
    """The file was refused; nothing was applied. `problems` names every bad line."""

    def __init__(self, problems: list[Problem]) -> None:
        shown = "; ".join(str(p) for p in problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        suffix = f"; and {more} more" if more > 0 else ""
        super().__init__(f"CSV refused, nothing imported: {shown}{suffix}")
        self.problems = problems


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str | None
    role: str | None
    groups: tuple[str, ...]
    monthly_limit: Decimal | None  # None: the cell was empty


@dataclass
class ImportSummary:
    dry_run: bool
    rows: int = 0
    created: list[str] = field(default_factory=list)  # emails
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    groups_created: list[str] = field(default_factory=list)  # paths
    memberships_added: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": self.unchanged,
            "groups_created": self.groups_created,
            "memberships_added": self.memberships_added,
        }


# --- reading the file ----------------------------------------------------------------------------


def _header(fieldnames: Iterable[str] | None) -> tuple[dict[str, str], list[Problem]]:
    """Column titles as written → our names. Case, spaces and `monthly limit` vs `monthly_limit` are forgiven."""
    if not fieldnames:
        return {}, [Problem(1, "the file is empty; the first line names the columns")]
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    for title in fieldnames:
        name = (title or "").strip().lower().replace(" ", "_").replace("-", "_")
        if name not in COLUMNS:
            problems.append(Problem(1, f"unknown column {title!r}; the columns are {', '.join(COLUMNS)}"))
        elif name in mapping.values():
            problems.append(Problem(1, f"column {name} appears twice"))
        else:
            mapping[title] = name
    if "email" not in mapping.values():
        problems.append(Problem(1, "the email column is required"))
    return mapping, problems


def _problem_text(exc: ValidationError) -> str:
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


def _row(line: int, cells: dict[str, str], problems: list[Problem]) -> Row | None:
    before = len(problems)
    email = ""
    try:
        email = _EMAIL.validate_python(cells.get("email", ""))
    except ValidationError as exc:
        problems.append(Problem(line, f"email {cells.get('email', '')!r}: {_problem_text(exc)}"))
    name = cells.get("name") or None
    if name is not None:
        try:
            name = _NAME.validate_python(name)
        except ValidationError as exc:
            problems.append(Problem(line, f"name: {_problem_text(exc)}"))
    role = (cells.get("role") or "").lower() or None
    if role is not None and role not in ORG_ROLES:
        problems.append(Problem(line, f"role {role!r}: must be one of {', '.join(ORG_ROLES)}"))
    limit = None
    if cells.get("monthly_limit"):
        try:
            limit = parse_dollars(cells["monthly_limit"])
        except MoneyError as exc:
            problems.append(Problem(line, f"monthly_limit {cells['monthly_limit']!r}: {exc}"))
    paths = []
    for raw in (cells.get("groups") or "").split(";"):
        path = "/".join(part.strip() for part in raw.strip().strip("/").split("/"))
        if not raw.strip():
            continue
        if any(not part for part in path.split("/")):
            problems.append(Problem(line, f"group path {raw.strip()!r} has an empty name in it"))
        elif path.count("/") + 1 > MAX_DEPTH:
            problems.append(Problem(line, f"group path {path!r} is deeper than {MAX_DEPTH} levels"))
        elif path not in paths:
            paths.append(path)
    if len(problems) > before:
        return None
    return Row(line=line, email=email, name=name, role=role, groups=tuple(paths), monthly_limit=limit)


def read_rows(source: TextIO | str) -> list[Row]:
    """Every row of the file, checked on its own; raises CsvImportError naming each bad line."""
    stream = io.StringIO(source) if isinstance(source, str) else source
    reader = csv.DictReader(stream, skipinitialspace=True)
    columns, problems = _header(reader.fieldnames)
    if problems:
        raise CsvImportError(problems)
    rows: list[Row] = []
    first_line: dict[str, int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            if None in raw:
                problems.append(Problem(line, f"more cells than the {len(columns)} columns"))
                continue
            cells = {columns[k]: (v or "").strip() for k, v in raw.items() if k in columns}
            if not any(cells.values()):
                continue  # a blank line
            row = _row(line, cells, problems)
            if row is None:
                continue
            if row.email in first_line:
                problems.append(Problem(line, f"{row.email} is already on line {first_line[row.email]}"))
                continue
            first_line[row.email] = line
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise CsvImportError([Problem(line, f"a file holds at most {MAX_ROWS} rows")])
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, f"not valid CSV: {exc}"))
    if problems:
        raise CsvImportError(problems)
    return rows


# --- checking against the organization ----------------------------------------------------------


def _existing_users(session: Session, caller: Caller, emails: list[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for start in range(0, len(emails), _LOOKUP_BATCH):
        chunk = emails[start : start + _LOOKUP_BATCH]
        for user in users_repo.with_emails(session, org_id=caller.org_id, emails=chunk):
            found[user.label] = user
    return found


def _resolve_groups(
    session: Session, caller: Caller, rows: list[Row], *, create_groups: bool, problems: list[Problem]
) -> tuple[dict[str, str], list[str]]:
    """Path → group id for the paths that exist, and the paths to create (parents before children)."""
    first_use: dict[str, int] = {}
    for row in rows:
        for path in row.groups:
            first_use.setdefault(path, row.line)
    found: dict[str, str] = {}
    missing: list[str] = []
    for path, line in first_use.items():
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix in found or prefix in missing:
                continue
            group = groups_service.find_by_path(session, org_id=caller.org_id, path=prefix)
            if group is not None:
                found[prefix] = group.id
            elif not create_groups:
                problems.append(Problem(line, f'group "{path}" does not exist (ask for missing groups to be created)'))
                break
            else:
                try:
                    _NAME.validate_python(parts[depth - 1])
                except ValidationError as exc:
                    problems.append(Problem(line, f'group name "{parts[depth - 1]}": {_problem_text(exc)}'))
                    break
                missing.append(prefix)
    return found, sorted(missing, key=lambda p: p.count("/"))


def _role_problems(caller: Caller, rows: list[Row], existing: dict[str, User]) -> list[Problem]:
    problems = []
    for row in rows:
        user = existing.get(row.email)
        if row.role is not None and not caller.scope.can_assign_org_role(row.role):
            problems.append(Problem(row.line, f"only an owner may make a user {row.role}"))
        elif user is not None and user.role == "owner" and not caller.scope.is_owner and _changes(row, user):
            problems.append(Problem(row.line, f"only an owner may change the owner {user.email}"))
    return problems


def _changes(row: Row, user: User) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if row.name is not None and row.name != user.name:
        changes["name"] = row.name
    if row.role is not None and row.role != user.role:
        changes["role"] = row.role
    if row.monthly_limit is not None and limit_nanos(row.monthly_limit) != user.monthly_limit:
        changes["monthly_limit"] = row.monthly_limit
    return changes


# --- the import ----------------------------------------------------------------------------------


def import_users(
    session: Session,
    caller: Caller,
    source: TextIO | str,
    *,
    create_groups: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Check the whole file, then (unless `dry_run`) apply it. Raises CsvImportError, having written nothing."""
    caller.require_org_admin("Importing users")
    rows = read_rows(source)
    existing = _existing_users(session, caller, [r.email for r in rows])
    problems = _role_problems(caller, rows, existing)
    group_ids, to_create = _resolve_groups(session, caller, rows, create_groups=create_groups, problems=problems)
    if problems:
        raise CsvImportError(sorted(problems, key=lambda p: p.line))

    summary = ImportSummary(dry_run=dry_run, rows=len(rows), groups_created=to_create)
    current = _current_memberships(session, caller, [u.id for u in existing.values()], group_ids)
    # New users join the default groups on creation; a row naming one adds nothing more.
    now = utcnow()
    defaults = groups_repo.default_groups(session, org_id=caller.org_id)
    joined_anyway = {g.id for g in defaults if not g.is_expired(now)}
    wanted: dict[str, list[str]] = {}  # group path → emails to add, in file order
    for row in rows:
        user = existing.get(row.email)
        if user is None:
            summary.created.append(row.email)
        elif _changes(row, user):
            summary.updated.append(row.email)
        else:
            summary.unchanged += 1
        member_of = current.get(user.id, set()) if user is not None else joined_anyway
        for path in row.groups:
            if path in to_create or group_ids[path] not in member_of:
                wanted.setdefault(path, []).append(row.email)
    summary.memberships_added = sum(len(emails) for emails in wanted.values())
    if dry_run:
        return summary

    for path in to_create:
        parent, _, name = path.rpartition("/")
        group = groups_service.create(
            session, caller, GroupCreate(name=name, parent_id=group_ids[parent] if parent else None)
        )
        group_ids[path] = group.id
    user_ids = _apply_users(session, caller, rows, existing, progress)
    for path, emails in wanted.items():
        groups_service.bulk_add(session, caller, group_ids[path], user_ids=[user_ids[e] for e in emails])
    return summary


def _current_memberships(
    session: Session, caller: Caller, user_ids: list[str], group_ids: dict[str, str]
) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for group_id in set(group_ids.values()):
        for user_id in groups_repo.member_user_ids(session, org_id=caller.org_id, group_id=group_id):
            out.setdefault(user_id, set()).add(group_id)
    return out


def _apply_users(
    session: Session, caller: Caller, rows: list[Row], existing: dict[str, User], progress: Progress | None
) -> dict[str, str]:
    """Update existing users one by one, create new ones in batches; email → user id."""
    ids: dict[str, str] = {}
    new_rows: list[Row] = []
    done = 0
    for row in rows:
        user = existing.get(row.email)
        if user is None:
            new_rows.append(row)
            continue
        if changes := _changes(row, user):
            user = users_service.update(session, caller, user.id, UserUpdate(**changes))
        ids[row.email] = user.id
        done += 1
        if progress is not None:
            progress(done, len(rows))
    for start in range(0, len(new_rows), _CREATE_BATCH):
        batch = new_rows[start : start + _CREATE_BATCH]
        for user in users_service.create_many(session, caller, [_user_create(row) for row in batch]):
            ids[user.label] = user.id
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    return ids


def _user_create(row: Row) -> UserCreate:
    fields: dict[str, Any] = {"email": row.email, "name": row.name, "role": row.role or "member"}
    if row.monthly_limit is not None:
        fields["monthly_limit"] = row.monthly_limit
    return UserCreate(**fields)
