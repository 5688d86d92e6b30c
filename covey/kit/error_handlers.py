"""Every error leaves Covey in Requesty's envelope, with OpenAI's `type`/`code` added.

`{"error": {"origin": "router", "message": "...", "type": "...", "code": ...}}`
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from covey.kit.errors import CoveyError

log = logging.getLogger("covey")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    412: "budget_exceeded",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(status: int, message: str, *, origin: str = "router", error_type: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "origin": origin,
            "message": message,
            "type": error_type or _TYPES.get(status, "api_error"),
            "code": status,
        }
    }


def error_response(status: int, message: str, **kwargs: Any) -> JSONResponse:
    return JSONResponse(error_body(status, message, **kwargs), status_code=status)


def describe_validation_error(exc: RequestValidationError) -> str:
    """One readable sentence per problem, each naming the field: `name: Field required`."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        where = ".".join(loc)
        if err.get("type") == "json_invalid":
            return "Malformed JSON body: " + str(err.get("ctx", {}).get("error", "cannot be parsed"))
        msg = str(err.get("msg", "invalid"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or "Invalid request"


async def _covey_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CoveyError)
    return error_response(exc.status_code, exc.message, error_type=exc.error_type)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, describe_validation_error(exc))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "Not found"
    return error_response(exc.status_code, message)


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # A unique constraint lost a race that the service's own check could not see.
    log.info("integrity error: %s", exc)
    return error_response(409, "Conflicts with an existing object")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CoveyError, _covey_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
