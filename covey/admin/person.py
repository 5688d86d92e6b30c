"""A page per person: their groups (by path, with their role in each), their keys and what each spent
this month, their spend against their limit, their org role — and changing it, for whoever may."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from covey.admin import grouping, repository, spend
from covey.admin.web import PREFIX, AdminDep, PanelRoute, page, redirect
from covey.auth.deps import SessionDep
from covey.groups import service as groups
from covey.keys import service as keys
from covey.kit.clock import utcnow
from covey.users import service as users
from covey.users.schemas import UserUpdate

router = APIRouter(route_class=PanelRoute)

ROLES = ("member", "admin", "owner")


@router.get("/users/{user_id}", include_in_schema=False)
def person(request: Request, user_id: str, panel: AdminDep, session: SessionDep) -> Response:
    caller = panel.caller
    user = users.get_visible(session, caller, user_id)
    month = spend.current_month(panel.org.timezone, utcnow())
    visible = groups.list_visible(session, caller)
    their_keys = keys.present(
        session, caller, keys.list_visible(session, caller, owner_id=user.id, include_revoked=True)
    )
    scope = caller.scope
    may_change_role = scope.is_org_admin and user.id != caller.user_id and (user.role != "owner" or scope.is_owner)
    return page(
        request,
        panel,
        "person.html",
        person=user,
        memberships=users.groups_of(session, caller, user.id),
        paths=grouping.paths(visible),
        readable={g.id for g in visible},
        keys=their_keys,
        key_spend=repository.by_key(session, org_id=caller.org_id, month=month),
        spent=repository.by_user(session, org_id=caller.org_id, month=month).get(user.id, 0),
        month=month,
        roles=[r for r in ROLES if scope.can_assign_org_role(r)] if may_change_role else [],
    )


@router.post("/users/{user_id}/role", include_in_schema=False)
def set_role(
    request: Request,
    user_id: str,
    panel: AdminDep,
    session: SessionDep,
    role: Annotated[Literal["member", "admin", "owner"], Form()],
) -> Response:
    """The org role: admins make admins and members, only an owner makes or unmakes owners."""
    user = users.update(session, panel.caller, user_id, UserUpdate(role=role))
    return redirect(request, f"{PREFIX}/users/{user.id}", f"{user.label} is now {role} of {panel.org.name}.")
