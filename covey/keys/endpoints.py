from __future__ import annotations

from fastapi import APIRouter, Response

from covey.auth.deps import AnyCaller, ManageRead, ManageWrite, SessionDep
from covey.budgets.spend import SpendDep
from covey.keys import service
from covey.keys.schemas import KeyCreate, KeyCreated, KeyExpiry, KeyLabels, KeyLimit, KeyList, KeyOut, KeyUpdate
from covey.kit.responses import ERRORS

router = APIRouter(prefix="/apikey", tags=["keys"], responses=ERRORS)


@router.get("", response_model=KeyList, summary="List the API keys the caller may see")
def list_keys(
    session: SessionDep,
    caller: ManageRead,
    spend: SpendDep,
    include_revoked: bool = False,
    owner_id: str | None = None,
    group_id: str | None = None,
) -> KeyList:
    keys = service.list_visible(session, caller, include_revoked=include_revoked, owner_id=owner_id, group_id=group_id)
    views = service.present(session, caller, keys)
    spend.keys(caller.org_id, views)
    return KeyList(keys=views)


@router.post("", response_model=KeyCreated, summary="Create an API key; its secret is shown only here, once")
def create_key(body: KeyCreate, session: SessionDep, caller: ManageWrite) -> KeyCreated:
    key, secret = service.create(session, caller, body)
    return KeyCreated(api_key_id=key.id, api_key=secret)


@router.get("/self", response_model=KeyOut, summary="The key making this request (any valid key)")
def get_self(session: SessionDep, caller: AnyCaller, spend: SpendDep) -> KeyOut:
    views = service.present(session, caller, [service.get_self(session, caller)])
    spend.keys(caller.org_id, views)
    return views[0]


@router.get("/{key_id}", response_model=KeyOut, summary="Get an API key")
def get_key(key_id: str, session: SessionDep, caller: ManageRead, spend: SpendDep) -> KeyOut:
    views = service.present(session, caller, [service.get_visible(session, caller, key_id)])
    spend.keys(caller.org_id, views)
    return views[0]


@router.patch(
    "/{key_id}", response_model=KeyOut, summary="Change a key's name, access list, features, logging or permissions"
)
def update_key(key_id: str, body: KeyUpdate, session: SessionDep, caller: ManageWrite) -> KeyOut:
    return service.present(session, caller, [service.update(session, caller, key_id, body)])[0]


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key; requests with it fail at once")
def revoke_key(key_id: str, session: SessionDep, caller: ManageWrite) -> Response:
    service.revoke(session, caller, key_id)
    return Response(status_code=204)


@router.post("/{key_id}/limit", status_code=204, summary="Set a key's monthly limit (0 removes it)")
def set_limit(key_id: str, body: KeyLimit, session: SessionDep, caller: ManageWrite) -> Response:
    service.set_limit(session, caller, key_id, monthly_limit=body.monthly_limit)
    return Response(status_code=204)


@router.post("/{key_id}/label", status_code=204, summary="Replace a key's labels ({} clears them)")
def set_labels(key_id: str, body: KeyLabels, session: SessionDep, caller: ManageWrite) -> Response:
    service.set_labels(session, caller, key_id, labels=body.labels)
    return Response(status_code=204)


@router.post("/{key_id}/expiry", status_code=204, summary="Set or clear a key's expiry; expired keys cannot change")
def set_expiry(key_id: str, body: KeyExpiry, session: SessionDep, caller: ManageWrite) -> Response:
    service.set_expiry(session, caller, key_id, expires_at=body.expires_at)
    return Response(status_code=204)
