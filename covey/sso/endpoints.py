"""`/v1/manage/org/sso`: an organization's OpenID Connect sign-in settings (org admins)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.kit.responses import ERRORS
from covey.sso import service
from covey.sso.schemas import SsoSettings, SsoSettingsOut
from covey.state import SettingsDep

router = APIRouter(prefix="/org/sso", tags=["organization"], responses=ERRORS)


@router.get("", response_model=SsoSettingsOut, summary="The organization's single sign-on settings (org admins)")
def get_sso(session: SessionDep, caller: ManageRead) -> SsoSettingsOut:
    return SsoSettingsOut.of(service.get(session, caller))


@router.put("", response_model=SsoSettingsOut, summary="Set the organization's single sign-on (org admins)")
def put_sso(body: SsoSettings, session: SessionDep, caller: ManageWrite, settings: SettingsDep) -> SsoSettingsOut:
    return SsoSettingsOut.of(service.put(session, caller, body, allowed_hosts=settings.oidc_allowed_hosts))


@router.delete("", status_code=204, summary="End sign-in through the identity provider (org admins)")
def delete_sso(session: SessionDep, caller: ManageWrite) -> Response:
    service.delete(session, caller)
    return Response(status_code=204)
