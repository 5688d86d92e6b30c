"""Gateway errors in each dialect: Requesty's envelope with OpenAI's `type`/`code` on OpenAI paths,
Anthropic's error shape on `/v1/messages` (docs/design.md §7)."""

from __future__ import annotations

import orjson

from covey.kit.error_handlers import error_body

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class GatewayError(Exception):
    def __init__(
        self, status: int, message: str, *, origin: str = "router", headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.origin = origin
        self.headers = headers or []


def openai_error(status: int, message: str, origin: str = "router") -> bytes:
    return orjson.dumps(error_body(status, message, origin=origin))


def anthropic_error(status: int, message: str, origin: str = "router") -> bytes:
    kind = _ANTHROPIC_TYPES.get(status, "api_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message, "origin": origin}})


def openai_stream_error(status: int, message: str, origin: str) -> bytes:
    return b"data: " + openai_error(status, message, origin) + b"\n\n"


def anthropic_stream_error(status: int, message: str, origin: str) -> bytes:
    return b"event: error\ndata: " + anthropic_error(status, message, origin) + b"\n\n"
