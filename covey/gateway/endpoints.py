"""The gateway's public paths. They are answered by `GatewayPaths`, a plain ASGI middleware that runs
before the management API's routing and exception layers (no per-request FastAPI work on the hot
path); the routes are also registered so other methods on these paths answer 405."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from covey.state import State

_HANDLERS = {
    ("POST", "/v1/chat/completions"): "chat",
    ("POST", "/v1/responses"): "responses",
    ("POST", "/v1/messages"): "messages",
    ("POST", "/v1/embeddings"): "embeddings",
    ("GET", "/v1/models"): "models",
    ("POST", "/v1/messages/count_tokens"): "count_tokens",
}
# `GET /v1/models/{id}`: model ids hold slashes (`provider/model`), so this is a prefix.
_MODEL_PREFIX = "/v1/models/"
# `GET` and `DELETE /v1/responses/{id}`.
_RESPONSE_PREFIX = "/v1/responses/"


async def _dispatch(handler: str, scope: Scope, receive: Receive, send: Send) -> None:
    state: State = scope["state"]
    gateway = state["gateway"]
    await getattr(gateway, handler)(scope, receive, send)


class GatewayPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = _HANDLERS.get((scope["method"], scope["path"]))
            if handler is None and scope["method"] == "GET" and scope["path"].startswith(_MODEL_PREFIX):
                handler = "models"
            elif (
                handler is None and scope["method"] in ("GET", "DELETE") and scope["path"].startswith(_RESPONSE_PREFIX)
            ):
                handler = "stored_response"
            if handler is not None:
                await _dispatch(handler, scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Endpoint:
    def __init__(self, handler: str) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _dispatch(self.handler, scope, receive, send)


def gateway_routes() -> list[Route]:
    return [
        Route(path, _Endpoint(handler), methods=[method], include_in_schema=False)
        for (method, path), handler in _HANDLERS.items()
    ]
