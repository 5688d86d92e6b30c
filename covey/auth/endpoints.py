"""`GET /v1/auth/check`: whether a key is valid, as Requesty's CLI asks before it saves one."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from covey.auth.deps import AnyCaller
from covey.kit.responses import ERRORS

router = APIRouter(tags=["auth"], responses=ERRORS)


class AuthCheck(BaseModel):
    valid: bool
    key_id: str | None
    org_id: str
    manage: str


@router.get("/v1/auth/check", response_model=AuthCheck, summary="200 for a valid key, 401 or 403 otherwise")
def check(caller: AnyCaller) -> AuthCheck:
    return AuthCheck(valid=True, key_id=caller.key_id, org_id=caller.org_id, manage=caller.key_manage)
