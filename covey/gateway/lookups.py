"""The gateway paths that call no model and charge nothing: `GET /v1/models` (and `/v1/models/{id}`)
and `POST /v1/messages/count_tokens`, answered from the compiled plane and the catalog; `GET` and
`DELETE /v1/responses/{id}`, from the stored responses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from covey.gateway import asgi, routing, token_count
from covey.gateway.admission import admit, authenticate, read_headers
from covey.gateway.catalog import Catalog
from covey.gateway.errors import GatewayError, anthropic_error, openai_error
from covey.gateway.models_list import list_models, one_model
from covey.gateway.responses import items
from covey.gateway.validation import validate
from covey.kit.errors import CoveyError
from covey.ops.metrics import Metrics
from covey.plane.state import Plane
from covey.response_store.store import ResponseStore, owner, plausible


async def models(scope: Scope, send: Send, *, plane: Plane, catalog: Catalog, metrics: Metrics) -> None:
    """`GET /v1/models`, and `GET /v1/models/{id}` for one of them."""
    headers = read_headers(scope)
    errors = anthropic_error if headers.anthropic else openai_error
    try:
        grant = authenticate(plane, headers.token)
        policies = plane.policies.get(grant.org_id, {})
        wanted = scope["path"].removeprefix("/v1/models").removeprefix("/")
        if not wanted:
            answer = list_models(catalog, grant, policies)
        else:
            found = one_model(catalog, grant, policies, wanted)
            if found is None:
                raise GatewayError(404, f"Model {wanted!r} not found")
            answer = found
    except GatewayError as exc:
        metrics.answered("models", exc.status)
        await asgi.send_json(send, exc.status, errors(exc.status, exc.message))
        return
    metrics.answered("models", 200)
    await asgi.send_json(send, 200, orjson.dumps(answer))


async def count_tokens(
    scope: Scope, receive: Receive, send: Send, *, plane: Plane, catalog: Catalog, metrics: Metrics, max_body_bytes: int
) -> None:
    """`POST /v1/messages/count_tokens`: an estimate (`token_count`) for a model the key may use.
    Nothing is sent upstream, charged or recorded."""
    try:
        ad = await admit(scope, receive, plane, max_body_bytes=max_body_bytes)
        validate(ad.body, endpoint="count_tokens", dialect="anthropic")
        model: str = ad.body["model"]
        routing.plan(
            model,
            catalog=catalog.models,
            allowed=ad.grant.allowed_models,
            policies=plane.policies.get(ad.grant.org_id, {}),
            trace_id=None,
        )
    except GatewayError as exc:
        metrics.answered("count_tokens", exc.status)
        await asgi.send_json(send, exc.status, anthropic_error(exc.status, exc.message, exc.origin))
        return
    except CoveyError as exc:
        metrics.answered("count_tokens", exc.status_code)
        await asgi.send_json(send, exc.status_code, anthropic_error(exc.status_code, exc.message))
        return
    except asgi.ClientGone:
        return
    metrics.answered("count_tokens", 200)
    await asgi.send_json(send, 200, orjson.dumps({"input_tokens": token_count.input_tokens(ad.body)}))


RESPONSE_PREFIX = "/v1/responses/"
ITEMS_SUFFIX = "/input_items"


async def stored_response(
    scope: Scope, send: Send, *, plane: Plane, store: ResponseStore | None, metrics: Metrics
) -> None:
    """`GET /v1/responses/{id}`: the Response as it was answered; `GET …/input_items`: the conversation
    it answered; `DELETE`: it is forgotten. Only the keys of the owner of the key that made it, in its
    org, reach it; to any other it does not exist."""
    answer: dict[str, Any]
    headers = read_headers(scope)
    response_id = scope["path"].removeprefix(RESPONSE_PREFIX)
    listing = scope["method"] == "GET" and response_id.endswith(ITEMS_SUFFIX)
    if listing:
        response_id = response_id.removesuffix(ITEMS_SUFFIX)
    try:
        grant = authenticate(plane, headers.token)
        if store is None or not plausible(response_id):
            raise GatewayError(404, f"Response {response_id!r} not found")
        if scope["method"] == "DELETE":
            if not await store.forget(owner(grant), response_id):
                raise GatewayError(404, f"Response {response_id!r} not found")
            answer = {"id": response_id, "object": "response", "deleted": True}
        else:
            found = await store.recall(owner(grant), response_id)
            if found is None:
                raise GatewayError(404, f"Response {response_id!r} not found")
            query = scope.get("query_string", b"")
            answer = items.listed(response_id, found.input, query) if listing else found.response
    except GatewayError as exc:
        metrics.answered("responses", exc.status)
        await asgi.send_json(send, exc.status, openai_error(exc.status, exc.message, exc.origin))
        return
    except CoveyError as exc:
        metrics.answered("responses", exc.status_code)
        await asgi.send_json(send, exc.status_code, openai_error(exc.status_code, exc.message))
        return
    metrics.answered("responses", 200)
    await asgi.send_json(send, 200, orjson.dumps(answer))
