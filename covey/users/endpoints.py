from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.budgets.spend import SpendDep
from covey.kit.pagination import Page, page_params
from covey.kit.responses import ERRORS
from covey.users import service
from covey.users.schemas import (
    UserCreate,
    UserCreated,
    UserEnvelope,
    UserGroups,
    UserOut,
    UserPage,
    UserUpdate,
)

router = APIRouter(prefix="/user", tags=["users"], responses=ERRORS)


@router.get("", response_model=UserPage, summary="List users, with filters and paging")
def list_users(
    session: SessionDep,
    caller: ManageRead,
    spend: SpendDep,
    page: Annotated[Page, Depends(page_params)],
    q: str | None = None,
    role: Literal["owner", "admin", "member"] | None = None,
    status: Literal["active", "deactivated"] | None = None,
    group_id: str | None = None,
    recursive: Annotated[bool, Query(description="With group_id: everyone in the group's subtree")] = False,
) -> UserPage:
    rows, total = service.search(
        session, caller, q=q, role=role, status=status, group_id=group_id, page=page, subgroups=recursive
    )
    users = [UserOut.of(u) for u in rows]
    spend.users(caller.org_id, users)
    return UserPage(users=users, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=UserCreated, summary="Create a user (joins every default group)")
def create_user(body: UserCreate, session: SessionDep, caller: ManageWrite) -> UserCreated:
    user = service.create(session, caller, body)
    return UserCreated(user_id=user.id, user=UserOut.of(user))


@router.get("/{user_id}", response_model=UserEnvelope, summary="Get a user with their groups")
def get_user(user_id: str, session: SessionDep, caller: ManageRead, spend: SpendDep) -> UserEnvelope:
    user = service.get_visible(session, caller, user_id)
    view = UserOut.of(user, service.groups_of(session, caller, user_id).direct)
    spend.users(caller.org_id, [view])
    return UserEnvelope(user=view)


@router.patch("/{user_id}", response_model=UserEnvelope, summary="Update a user")
def update_user(user_id: str, body: UserUpdate, session: SessionDep, caller: ManageWrite) -> UserEnvelope:
    return UserEnvelope(user=UserOut.of(service.update(session, caller, user_id, body)))


@router.post("/{user_id}/deactivate", response_model=UserEnvelope, summary="Deactivate a user; their keys stop")
def deactivate_user(user_id: str, session: SessionDep, caller: ManageWrite) -> UserEnvelope:
    return UserEnvelope(user=UserOut.of(service.set_status(session, caller, user_id, active=False)))


@router.post("/{user_id}/activate", response_model=UserEnvelope, summary="Reactivate a user")
def activate_user(user_id: str, session: SessionDep, caller: ManageWrite) -> UserEnvelope:
    return UserEnvelope(user=UserOut.of(service.set_status(session, caller, user_id, active=True)))


@router.get("/{user_id}/groups", response_model=UserGroups, summary="A user's direct and effective groups")
def user_groups(user_id: str, session: SessionDep, caller: ManageRead) -> UserGroups:
    return service.groups_of(session, caller, user_id)
