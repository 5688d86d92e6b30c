from __future__ import annotations

from fastapi import APIRouter

from covey.access import service
from covey.access.schemas import (
    AccessListCreate,
    AccessListCreated,
    AccessListDeleted,
    AccessListEnvelope,
    AccessListOut,
    AccessListPage,
    AccessListUpdate,
)
from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.kit.responses import ERRORS

router = APIRouter(prefix="/access-list", tags=["access lists"], responses=ERRORS)


@router.get("", response_model=AccessListPage, summary="List the organization's access lists")
def list_access_lists(session: SessionDep, caller: ManageRead) -> AccessListPage:
    return AccessListPage(access_lists=[AccessListOut.of(a) for a in service.list_all(session, caller)])


@router.post("", response_model=AccessListCreated, summary="Create an access list (org admins)")
def create_access_list(body: AccessListCreate, session: SessionDep, caller: ManageWrite) -> AccessListCreated:
    return AccessListCreated(id=service.create(session, caller, body).id)


@router.get("/{access_list_id}", response_model=AccessListEnvelope, summary="Get an access list")
def get_access_list(access_list_id: str, session: SessionDep, caller: ManageRead) -> AccessListEnvelope:
    return AccessListEnvelope(access_list=AccessListOut.of(service.get(session, caller, access_list_id)))


@router.patch(
    "/{access_list_id}",
    response_model=AccessListEnvelope,
    summary="Change an access list: a modality given replaces that modality, [] clears it",
)
def update_access_list(
    access_list_id: str, body: AccessListUpdate, session: SessionDep, caller: ManageWrite
) -> AccessListEnvelope:
    return AccessListEnvelope(access_list=AccessListOut.of(service.update(session, caller, access_list_id, body)))


@router.delete(
    "/{access_list_id}",
    response_model=AccessListDeleted,
    summary="Delete an access list; refused (409) while a group, a key or the org default uses it",
)
def delete_access_list(access_list_id: str, session: SessionDep, caller: ManageWrite) -> AccessListDeleted:
    service.delete(session, caller, access_list_id)
    return AccessListDeleted(id=access_list_id)
