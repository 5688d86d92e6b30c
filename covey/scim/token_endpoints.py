"""`/v1/manage/scim/token`: an org admin creates, lists and revokes the tokens identity providers use."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from covey.auth.deps import ManageRead, ManageWrite, SessionDep
from covey.kit.fields import Name, Strict
from covey.kit.responses import ERRORS
from covey.models import ScimToken
from covey.scim import tokens

router = APIRouter(prefix="/scim/token", tags=["scim"], responses=ERRORS)


class ScimTokenCreate(Strict):
    name: Name = "scim"


class ScimTokenCreated(BaseModel):
    """The only response that carries the token itself."""

    id: str
    token: str
    name: str
    prefix: str


class ScimTokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    active: bool

    @classmethod
    def of(cls, token: ScimToken) -> ScimTokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
            active=token.revoked_at is None,
        )


class ScimTokenList(BaseModel):
    tokens: list[ScimTokenOut]


@router.post("", response_model=ScimTokenCreated, summary="Create a SCIM token (shown once)")
def create_token(body: ScimTokenCreate, session: SessionDep, caller: ManageWrite) -> ScimTokenCreated:
    issued = tokens.issue(session, caller, name=body.name)
    return ScimTokenCreated(id=issued.token.id, token=issued.secret, name=issued.token.name, prefix=issued.token.prefix)


@router.get("", response_model=ScimTokenList, summary="List SCIM tokens, without their secrets")
def list_tokens(session: SessionDep, caller: ManageRead) -> ScimTokenList:
    return ScimTokenList(tokens=[ScimTokenOut.of(t) for t in tokens.list_tokens(session, caller)])


@router.delete("/{token_id}", response_model=ScimTokenOut, summary="Revoke a SCIM token")
def revoke_token(token_id: str, session: SessionDep, caller: ManageWrite) -> ScimTokenOut:
    return ScimTokenOut.of(tokens.revoke(session, caller, token_id))
