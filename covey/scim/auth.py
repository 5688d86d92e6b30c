from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from covey.auth.caller import Caller
from covey.auth.deps import SessionDep, bearer_token
from covey.kit.errors import Unauthorized
from covey.scim import tokens


def scim_caller(request: Request, session: SessionDep) -> Caller:
    secret = bearer_token(request)
    if secret is None:
        raise Unauthorized("A SCIM bearer token is required")
    return tokens.caller_for(session, secret)


ScimCaller = Annotated[Caller, Depends(scim_caller)]
