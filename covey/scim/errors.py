"""SCIM answers in its own media type, and errors in its own schema (RFC 7644 §3.12).

`ScimRoute` turns every error raised while serving a SCIM route — Covey's domain errors, the SCIM
library's, bad JSON — into `urn:ietf:params:scim:api:messages:2.0:Error`, so the app-wide handlers
(Requesty's envelope) never see them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from scim2_models import Error, SCIMException
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from covey.kit.error_handlers import describe_validation_error
from covey.kit.errors import BadRequest, Conflict, CoveyError

log = logging.getLogger("covey.scim")

MEDIA_TYPE = "application/scim+json"


class ScimResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, detail: str, scim_type: str | None = None) -> ScimResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    headers = {"WWW-Authenticate": 'Bearer realm="covey-scim"'} if status == 401 else None
    return ScimResponse(body, status_code=status, headers=headers)


def _scim_type_of(exc: CoveyError) -> str | None:
    if isinstance(exc, Conflict):
        return "uniqueness"
    if isinstance(exc, BadRequest):
        return "invalidValue"
    return None


def _from_validation(exc: ValidationError) -> ScimResponse:
    """A payload the SCIM models refused: the library names the scimType of the first problem."""
    first = exc.errors()[0]
    error = Error.from_validation_error(first)
    return error_response(error.status or 400, error.detail or str(exc), error.scim_type)


# What a SCIM route answers as a SCIM error; anything else is a bug and surfaces as one.
_HANDLED = (
    SCIMException,
    CoveyError,
    ValidationError,
    RequestValidationError,
    orjson.JSONDecodeError,
    UnicodeDecodeError,
    IntegrityError,
    HTTPException,
)


def to_response(exc: Exception) -> ScimResponse:
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return error_response(error.status or exc.status, error.detail or exc.detail, error.scim_type)
    if isinstance(exc, CoveyError):
        return error_response(exc.status_code, exc.message, _scim_type_of(exc))
    if isinstance(exc, ValidationError):
        return _from_validation(exc)
    if isinstance(exc, RequestValidationError):
        return error_response(400, describe_validation_error(exc), "invalidValue")
    if isinstance(exc, orjson.JSONDecodeError | UnicodeDecodeError):
        return error_response(400, f"Malformed JSON body: {exc}", "invalidSyntax")
    if isinstance(exc, IntegrityError):
        # A unique constraint lost a race that the service's own check could not see.
        log.info("integrity error: %s", exc)
        return error_response(409, "Conflicts with an existing resource", "uniqueness")
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail))


class ScimRoute(APIRoute):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette answers a known path with the wrong method before any handler runs.
        if self.methods and scope["method"] not in self.methods:
            await error_response(405, f"{scope['method']} is not allowed here")(scope, receive, send)
            return
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except _HANDLED as exc:
                return to_response(exc)

        return scim_handler
