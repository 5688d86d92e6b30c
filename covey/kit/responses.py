"""OpenAPI descriptions of the error envelope, shared by every router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    origin: str
    message: str
    type: str
    code: int


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad input; the message names the field"},
    401: {"model": ErrorResponse, "description": "No API key, or an unknown, revoked or expired one"},
    403: {"model": ErrorResponse, "description": "Not allowed"},
    404: {"model": ErrorResponse, "description": "Unknown object (or another organization's)"},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state"},
}
