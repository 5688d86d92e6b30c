"""`covey groups …`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal

import typer

from covey.cli.context import JsonOption, OrgOption, acting
from covey.cli.lookup import find_group, find_user
from covey.cli.output import emit_json, emit_table
from covey.groups import service
from covey.groups.schemas import GroupCreate, TreeNode

app = typer.Typer(help="The group tree and its members.", no_args_is_help=True)

GroupArg = Annotated[str, typer.Argument(metavar="GROUP", help="The group's id or path, e.g. 'Sales/Sales Reps'.")]
UserArg = Annotated[str, typer.Argument(metavar="USER", help="The user's id or email.")]
Role = Literal["admin", "member"]


def _walk(nodes: Sequence[TreeNode], parent: str = "") -> Iterator[tuple[str, TreeNode]]:
    for node in nodes:
        path = f"{parent}/{node.name}" if parent else node.name
        yield path, node
        yield from _walk(node.children, path)


def _tree(org: str | None) -> list[TreeNode]:
    with acting(org) as (session, caller):
        return service.tree(session, caller)


@app.command("list")
def list_groups(org: OrgOption = None, as_json: JsonOption = False) -> None:
    """List every group with its path, depth first."""
    rows: list[dict[str, Any]] = [
        {**node.model_dump(mode="json", exclude={"children"}), "path": path} for path, node in _walk(_tree(org))
    ]
    if as_json:
        emit_json({"groups": rows})
    else:
        emit_table(rows, ["id", "path", "kind", "default", "members_count", "total_members"])


@app.command("tree")
def show_tree(org: OrgOption = None, as_json: JsonOption = False) -> None:
    """Show the group tree with member counts."""
    nodes = _tree(org)
    if as_json:
        emit_json({"tree": [n.model_dump(mode="json") for n in nodes]})
        return
    if not nodes:
        typer.echo("(no groups)")
    for line in _draw(nodes):
        typer.echo(line)


def _draw(nodes: Sequence[TreeNode], prefix: str | None = None) -> Iterator[str]:
    """Top-level groups flush left, their subtrees drawn with branches below them."""
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        head = "" if prefix is None else prefix + ("└─ " if last else "├─ ")
        below = "" if prefix is None else prefix + ("   " if last else "│  ")
        yield head + _label(node)
        yield from _draw(node.children, below)


def _label(node: TreeNode) -> str:
    notes: list[str] = [node.kind]
    if node.default:
        notes.append("default")
    if node.expired:
        notes.append("expired")
    count = f"{node.members_count} member{'' if node.members_count == 1 else 's'}"
    if node.children:
        count += f", {node.total_members} in all"
    return f"{node.name}  ({', '.join(notes)}; {count})"


@app.command("show")
def show(group: GroupArg, org: OrgOption = None, as_json: JsonOption = False) -> None:
    """Show a group with its members."""
    with acting(org) as (session, caller):
        detail = service.detail(session, caller, find_group(session, caller, group).id)
    if as_json:
        emit_json({"group": detail.model_dump(mode="json")})
        return
    notes = [detail.kind, *(["default"] if detail.default else []), *(["expired"] if detail.expired else [])]
    typer.echo(f"{detail.name}  ({', '.join(notes)})  {detail.id}")
    if detail.description:
        typer.echo(detail.description)
    typer.echo("")
    emit_table([m.model_dump() for m in detail.members], ["id", "email", "name", "role", "active"])


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The new group's name, unique among its siblings.")],
    parent: Annotated[str | None, typer.Option(help="The parent group (id or path); none = top level.")] = None,
    kind: Annotated[
        Literal["department", "project", "function", "custom"], typer.Option(help="What the group is.")
    ] = "custom",
    description: Annotated[str, typer.Option(help="A line about the group.")] = "",
    default: Annotated[bool, typer.Option("--default", help="New users join this group automatically.")] = False,
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a group, at the top level or under a parent."""
    with acting(org) as (session, caller):
        parent_id = find_group(session, caller, parent).id if parent else None
        data = GroupCreate(name=name, parent_id=parent_id, kind=kind, description=description, default=default)
        group = service.create(session, caller, data)
    if as_json:
        emit_json({"group_id": group.id})
    else:
        typer.echo(f"Created group {group.name} ({group.id}).")


@app.command("add-member")
def add_member(
    group: GroupArg,
    user: UserArg,
    role: Annotated[Role, typer.Option(help="Their role in the group.")] = "member",
    org: OrgOption = None,
) -> None:
    """Add a user to a group (or change their role there)."""
    with acting(org) as (session, caller):
        found = find_group(session, caller, group)
        person = find_user(session, caller, user)
        service.add_member(session, caller, found.id, user_id=person.id, role=role)
    typer.echo(f"Added {person.label} to {found.name} as {role}.")


@app.command("move")
def move(
    group: GroupArg,
    user: UserArg,
    to: Annotated[str, typer.Option("--to", metavar="GROUP", help="The group to move them to (id or path).")],
    org: OrgOption = None,
) -> None:
    """Move a user from one group to another in one step."""
    with acting(org) as (session, caller):
        source = find_group(session, caller, group)
        target = find_group(session, caller, to)
        person = find_user(session, caller, user)
        service.move_member(session, caller, source.id, user_id=person.id, to_group_id=target.id)
    typer.echo(f"Moved {person.label} from {source.name} to {target.name}.")


@app.command("remove-member")
def remove_member(group: GroupArg, user: UserArg, org: OrgOption = None) -> None:
    """Take a user out of a group; keys they hold in it stop working."""
    with acting(org) as (session, caller):
        found = find_group(session, caller, group)
        person = find_user(session, caller, user)
        service.remove_member(session, caller, found.id, user_id=person.id)
    typer.echo(f"Removed {person.label} from {found.name}.")
