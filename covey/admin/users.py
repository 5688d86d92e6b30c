"""The people directory: search and filters, group badges, spend against each person's limit, assign
many people to a group at once, change a limit, deactivate or reactivate, create a user."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from covey.admin import grouping, repository, spend
from covey.admin.forms import people, picked
from covey.admin.web import PREFIX, AdminDep, PanelRoute, page, redirect, show_once
from covey.auth.deps import SessionDep
from covey.groups import repository as groups_repo
from covey.groups import service as groups
from covey.kit.clock import utcnow
from covey.kit.pagination import MAX_LIMIT, Page
from covey.users import service as users
from covey.users.schemas import UserCreate, UserUpdate

router = APIRouter(route_class=PanelRoute)


@router.get("/users", include_in_schema=False)
def directory(
    request: Request,
    panel: AdminDep,
    session: SessionDep,
    q: str = "",
    group_id: str = "",
    role: Literal["", "owner", "admin", "member"] = "",
    status: Literal["", "active", "deactivated"] = "",
    over_limit: bool = False,
    subgroups: bool = True,
) -> Response:
    caller = panel.caller
    if group_id:
        groups.get_readable(session, caller, group_id)
    rows, total = users.search(
        session,
        caller,
        q=q.strip() or None,
        role=role or None,
        status=status or None,
        group_id=group_id or None,
        page=Page(limit=MAX_LIMIT, offset=0),
        subgroups=subgroups,
    )
    month = spend.current_month(panel.org.timezone, utcnow())
    spent = repository.by_user(session, org_id=caller.org_id, month=month)
    if over_limit:
        rows = [u for u in rows if u.monthly_limit is not None and spent.get(u.id, 0) >= u.monthly_limit]
    visible = groups.list_visible(session, caller)
    names = {g.id: g.name for g in visible}
    badges: dict[str, list[tuple[str, str]]] = {}
    for gid, uid in groups_repo.all_memberships(session, org_id=caller.org_id):
        if gid in names:
            badges.setdefault(uid, []).append((gid, names[gid]))
    return page(
        request,
        panel,
        "users.html",
        users=rows,
        total=total,
        shown_all=total <= MAX_LIMIT,
        spent=spent,
        badges={uid: sorted(b, key=lambda x: x[1].lower()) for uid, b in badges.items()},
        groups=grouping.choices(visible, among={g.id for g in visible}),
        targets=grouping.choices(visible, among={g.id for g in visible if caller.scope.can_manage_group(g.id)}),
        filters={
            "q": q,
            "group_id": group_id,
            "subgroups": subgroups,
            "role": role,
            "status": status,
            "over_limit": over_limit,
        },
        month=month,
    )


@router.post("/users", include_in_schema=False)
def create(
    request: Request,
    panel: AdminDep,
    session: SessionDep,
    email: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
) -> Response:
    data = UserCreate.model_validate({"email": email, "name": name.strip() or None, "role": role})
    user = users.create(session, panel.caller, data)
    return redirect(request, f"{PREFIX}/users?q={user.label}", f"Created {user.label}.")


@router.post("/users/assign", include_in_schema=False)
def assign(
    request: Request,
    panel: AdminDep,
    session: SessionDep,
    user_ids: Annotated[list[str], Form()],
    group_id: Annotated[str, Form(min_length=1)],
) -> Response:
    result = groups.bulk_add(session, panel.caller, group_id, user_ids=picked(user_ids))
    group = groups.get_readable(session, panel.caller, group_id)
    message = f'Added {people(len(result.added))} to "{group.name}".'
    if result.already_members:
        message += f" {people(len(result.already_members))} already there."
    return redirect(request, f"{PREFIX}/users", message)


@router.post("/users/{user_id}/limit", include_in_schema=False)
def set_limit(
    request: Request,
    user_id: str,
    panel: AdminDep,
    session: SessionDep,
    monthly_limit: Annotated[str, Form()] = "",
) -> Response:
    """Empty or 0 removes the limit."""
    data = UserUpdate.model_validate({"monthly_limit": monthly_limit.strip() or "0"})
    user = users.update(session, panel.caller, user_id, data)
    return redirect(request, f"{PREFIX}/users", f"Saved the monthly limit of {user.label}.")


@router.post("/users/{user_id}/status", include_in_schema=False)
def set_status(
    request: Request,
    user_id: str,
    panel: AdminDep,
    session: SessionDep,
    active: Annotated[bool, Form()] = False,
) -> Response:
    user = users.set_status(session, panel.caller, user_id, active=active)
    return redirect(request, f"{PREFIX}/users", f"{user.label} is {'active' if active else 'deactivated'}.")


@router.post("/users/{user_id}/password", include_in_schema=False)
def reset_password(request: Request, user_id: str, panel: AdminDep, session: SessionDep) -> Response:
    """A new sign-in password, shown once on the page this redirects to."""
    user, password = users.reset_password(session, panel.caller, user_id)
    to = f"{PREFIX}/users/{user.id}/password"
    return show_once(request, redirect(request, to), panel, to=to, kind="password", secret=password)


@router.get("/users/{user_id}/password", include_in_schema=False)
def new_password(request: Request, user_id: str, panel: AdminDep, session: SessionDep) -> Response:
    """The new password, the first time this page opens after the reset; afterwards only how to get one."""
    user = users.get_visible(session, panel.caller, user_id)
    return page(request, panel, "password.html", person=user)
