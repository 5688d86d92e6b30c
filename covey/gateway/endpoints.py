"""The gateway's public paths, as plain ASGI routes (no per-request FastAPI validation on the hot path)."""

from __future__ import annotations

from starlette.routing import Route

from covey.gateway.asgi import Receive, Scope, Send
from covey.gateway.service import Gateway


class _Endpoint:
    """An ASGI app that hands the request to the process's `Gateway` (from the lifespan state)."""

    def __init__(self, handler: str) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway: Gateway = scope["state"]["gateway"]
        await getattr(gateway, self.handler)(scope, receive, send)


def gateway_routes() -> list[Route]:
    return [
        Route("/v1/chat/completions", _Endpoint("chat"), methods=["POST"], include_in_schema=False),
        Route("/v1/messages", _Endpoint("messages"), methods=["POST"], include_in_schema=False),
        Route("/v1/embeddings", _Endpoint("embeddings"), methods=["POST"], include_in_schema=False),
        Route("/v1/models", _Endpoint("models"), methods=["GET"], include_in_schema=False),
    ]
