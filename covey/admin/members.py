"""Memberships from the panel: drag a member to another group to move them (or, with a modifier key,
add them there too), the "Add members" dialog, and bulk remove or role change. Each action is one
request and one transaction: a refusal part-way leaves every membership as it was."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from starlette.responses import JSONResponse, Response

from covey.admin.forms import people, picked
from covey.admin.web import PREFIX, AdminDep, PanelRoute, redirect, wants_json
from covey.auth.deps import SessionDep
from covey.groups import repository as groups_repo
from covey.groups import service as groups
from covey.kit.pagination import Page
from covey.users import service as users

router = APIRouter(route_class=PanelRoute)

Role = Literal["admin", "member"]
SEARCH_LIMIT = 50


def _done(request: Request, to: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"ok": True, "message": message})
    return redirect(request, to, message)


@router.post("/groups/{group_id}/members/add", include_in_schema=False)
def add(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    user_ids: Annotated[list[str], Form()],
    role: Annotated[Role, Form()] = "member",
) -> Response:
    result = groups.bulk_add(session, panel.caller, group_id, user_ids=picked(user_ids), role=role)
    group = groups.get_readable(session, panel.caller, group_id)
    where = groups.path_of(session, org_id=panel.caller.org_id, group=group)
    if len(result.added) == 1:
        who = users.get_visible(session, panel.caller, result.added[0]).label
        message = f'Added {who} to "{where}" as {role}.'
    else:
        message = f'Added {people(len(result.added))} to "{where}".'
    if result.already_members:
        message += f" {people(len(result.already_members))} already in the group."
    return _done(request, f"{PREFIX}/groups/{group_id}", message)


@router.post("/groups/{group_id}/members/remove", include_in_schema=False)
def remove(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    user_ids: Annotated[list[str], Form()],
) -> Response:
    chosen = picked(user_ids)
    for user_id in chosen:
        groups.remove_member(session, panel.caller, group_id, user_id=user_id)
    return _done(request, f"{PREFIX}/groups/{group_id}", f"Removed {people(len(chosen))} from the group.")


@router.post("/groups/{group_id}/members/role", include_in_schema=False)
def change_role(
    request: Request,
    group_id: str,
    panel: AdminDep,
    session: SessionDep,
    user_ids: Annotated[list[str], Form()],
    role: Annotated[Role, Form()],
) -> Response:
    chosen = picked(user_ids)
    for user_id in chosen:
        groups.set_role(session, panel.caller, group_id, user_id=user_id, role=role)
    return _done(request, f"{PREFIX}/groups/{group_id}", f"Made {people(len(chosen))} {role}.")


@router.post("/groups/{group_id}/members/{user_id}/move", include_in_schema=False)
def move(
    request: Request,
    group_id: str,
    user_id: str,
    panel: AdminDep,
    session: SessionDep,
    to_group_id: Annotated[str, Form(min_length=1)],
    mode: Annotated[Literal["move", "add"], Form()] = "move",
) -> Response:
    """`move` takes the member out of this group and into the other; `add` keeps them here too.
    Either way they keep their role."""
    caller = panel.caller
    current = groups_repo.get_membership(session, org_id=caller.org_id, group_id=group_id, user_id=user_id)
    target = groups.get_readable(session, caller, to_group_id)
    if mode == "move":
        groups.move_member(session, caller, group_id, user_id=user_id, to_group_id=target.id)
        verb = "Moved"
    else:
        groups.add_member(session, caller, target.id, user_id=user_id, role=current.role if current else "member")
        verb = "Added"
    user = users.get_visible(session, caller, user_id)
    where = groups.path_of(session, org_id=caller.org_id, group=target)
    return _done(request, f"{PREFIX}/groups/{group_id}", f'{verb} {user.label} to "{where}".')


@router.get("/api/users", include_in_schema=False)
def search_users(panel: AdminDep, session: SessionDep, q: str = "", group_id: str | None = None) -> JSONResponse:
    """For "Add members" and the people finder: with a group the caller runs, anyone active in the org
    (marked when already in the group); without one, the people the caller may see."""
    query = q.strip() or None
    members: set[str] = set()
    if group_id:
        rows, members = groups.candidates(session, panel.caller, group_id, q=query, limit=SEARCH_LIMIT)
    else:
        rows, _ = users.search(
            session,
            panel.caller,
            q=query,
            role=None,
            status="active",
            group_id=None,
            page=Page(limit=SEARCH_LIMIT, offset=0),
        )
    return JSONResponse(
        {
            "users": [
                {"id": u.id, "email": u.email or u.user_name, "name": u.name, "member": u.id in members} for u in rows
            ],
        }
    )
