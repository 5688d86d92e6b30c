"""The first steps of every gateway request: the key (from the compiled plane), a bounded JSON body, the
caller's metadata and the features the request uses. Everything here answers from memory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Receive, Scope

from covey.budgets.estimate import CAP_FIELDS, output_cap
from covey.gateway.access import INVALID_TOKEN, Grant
from covey.gateway.asgi import BodyTooLarge, read_body
from covey.gateway.errors import GatewayError
from covey.gateway.responses import Front
from covey.gateway.validation import depth
from covey.kit.crypto import hash_secret
from covey.plane.state import Plane

Json = dict[str, Any]
_DIMENSION_PREFIXES = (b"x-covey-", b"x-requesty-")
_DIALECT_HEADERS = frozenset((b"anthropic-version", b"anthropic-beta"))
# The field that carries an output cap on each endpoint, when Covey sets one (a Responses request is chat by then).
_CAP_FIELD = {"chat": "max_tokens", "messages": "max_tokens", "responses": "max_tokens"}
# `requesty.extra` is kept on the usage record: bounded like any value the ledger takes from a caller.
MAX_EXTRA_DEPTH = 8
MAX_EXTRA_BYTES = 16 * 1024
MAX_TAGS = 64


@dataclass
class Admitted:
    grant: Grant
    body: Json
    raw: bytes
    started: float
    tags: list[str] = field(default_factory=list)
    end_user_id: str | None = None
    trace_id: str | None = None
    extra: Json = field(default_factory=dict)
    auto_cache: bool | None = None
    caching: bool = False  # cache breakpoints are added for Anthropic-dialect upstreams
    dimensions: dict[str, str] = field(default_factory=dict)
    # Set for `/v1/responses`: `body` is then the chat request it was turned into.
    front: Front | None = None
    # The caller's Anthropic headers, sent on to an upstream of that dialect.
    dialect_headers: dict[str, str] = field(default_factory=dict)
    # The prompt's tokens as the budgets and rate limits count them (`prompt_tokens`), once it is masked.
    prompt: int = 0


@dataclass(frozen=True, slots=True)
class Headers:
    token: str | None
    content_length: int | None
    dimensions: dict[str, str]
    dialect_headers: dict[str, str]
    # The caller speaks Anthropic's API: it sent `anthropic-version`, or its key as `x-api-key`.
    anthropic: bool = False


def read_headers(scope: Scope) -> Headers:
    token: str | None = None
    api_key: str | None = None
    length: int | None = None
    dimensions: dict[str, str] = {}
    dialect_headers: dict[str, str] = {}
    title: str | None = None
    referer: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and rest.strip():
                token = rest.strip()
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip() or None
        elif name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"x-title":
            title = value.decode("latin-1").strip()[:500] or None
        elif name == b"http-referer" or name == b"referer":
            referer = value.decode("latin-1").strip()[:500] or None
        elif name in _DIALECT_HEADERS:
            dialect_headers[name.decode()] = value.decode("latin-1")[:1000]
        elif name.startswith(_DIMENSION_PREFIXES):
            key = name.split(b"-", 2)[2].decode("latin-1")
            dimensions[key] = value.decode("latin-1")[:500]
    if title or referer:
        dimensions.setdefault("origin_title", title or referer or "")
    return Headers(
        token=token or api_key,
        content_length=length,
        dimensions=dimensions,
        dialect_headers=dialect_headers,
        anthropic="anthropic-version" in dialect_headers or (token is None and api_key is not None),
    )


def authenticate(plane: Plane, token: str | None) -> Grant:
    if token is None:
        raise GatewayError(401, "Unauthorized")
    grant = plane.grants.get(hash_secret(token))
    if grant is None:
        raise GatewayError(401, INVALID_TOKEN)
    refusal = grant.refusal_at(time.time())
    if refusal is not None:
        raise GatewayError(*refusal)
    return grant


def _metadata(admitted: Admitted, given: object) -> None:
    """Requesty's `requesty` object: stored as dimensions of the usage record, never forwarded."""
    if given is None:
        return
    if not isinstance(given, dict):
        raise GatewayError(400, "requesty: must be an object")
    tags = given.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) and len(t) <= 200 for t in tags):
            raise GatewayError(400, "requesty.tags: must be a list of strings of at most 200 characters")
        if len(tags) > MAX_TAGS:
            raise GatewayError(400, f"requesty.tags: at most {MAX_TAGS} tags")
        admitted.tags = tags
    for name, attr in (("user_id", "end_user_id"), ("trace_id", "trace_id")):
        value = given.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise GatewayError(400, f"requesty.{name}: must be a string")
            setattr(admitted, attr, value[:200])
    extra = given.get("extra")
    if extra is not None:
        if not isinstance(extra, dict):
            raise GatewayError(400, "requesty.extra: must be an object")
        if depth(extra, MAX_EXTRA_DEPTH) > MAX_EXTRA_DEPTH:
            raise GatewayError(400, f"requesty.extra: nests deeper than {MAX_EXTRA_DEPTH} levels")
        if len(orjson.dumps(extra)) > MAX_EXTRA_BYTES:
            raise GatewayError(400, f"requesty.extra: larger than {MAX_EXTRA_BYTES} bytes as JSON")
        admitted.extra = extra
    auto_cache = given.get("auto_cache")
    if auto_cache is not None:
        if not isinstance(auto_cache, bool):
            raise GatewayError(400, "requesty.auto_cache: must be a boolean")
        admitted.auto_cache = auto_cache


async def admit(scope: Scope, receive: Receive, plane: Plane, *, max_body_bytes: int) -> Admitted:
    headers = read_headers(scope)
    grant = authenticate(plane, headers.token)
    try:
        raw = await read_body(receive, max_body_bytes, headers.content_length)
    except BodyTooLarge:
        raise GatewayError(413, f"Request body too large (limit {max_body_bytes} bytes)") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"Malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "body: must be a JSON object")
    admitted = Admitted(
        grant=grant,
        body=body,
        raw=raw,
        started=time.perf_counter(),
        dimensions=headers.dimensions,
        dialect_headers=headers.dialect_headers,
    )
    _metadata(admitted, body.pop("requesty", None))
    return admitted


def cap_output(body: Json, *, endpoint: str, default: int) -> int:
    """Holds the upstream to the output cap the reservation paid for (docs/design.md §4): every cap
    field the caller set becomes the smallest of them, and a request that set none is sent `default`."""
    cap = output_cap(body, endpoint=endpoint, default=default)
    given = [name for name in CAP_FIELDS if body.get(name) is not None]
    for name in given:
        body[name] = cap
    if not given and endpoint != "embeddings":
        body[_CAP_FIELD.get(endpoint, "max_tokens")] = cap
    return cap


def features_used(body: Json, *, endpoint: str, auto_cache: bool | None) -> list[str]:
    used: list[str] = []
    if endpoint == "embeddings":
        return ["embeddings"]
    if body.get("stream"):
        used.append("streaming")
    if body.get("tools") or body.get("functions"):
        used.append("tools")
    response_format = body.get("response_format")
    output_config = body.get("output_config")
    anthropic_format = output_config.get("format") if isinstance(output_config, dict) else body.get("output_format")
    if (
        isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")
    ) or isinstance(anthropic_format, dict):
        used.append("structured_outputs")
    thinking = body.get("thinking")
    thinks = isinstance(thinking, dict) and thinking.get("type") != "disabled"
    if body.get("reasoning_effort") not in (None, "none") or body.get("reasoning") or thinks:
        used.append("reasoning")
    if auto_cache:
        used.append("auto_caching")
    return used


def check_features(grant: Grant, used: list[str]) -> None:
    for feature in used:
        if feature in grant.disabled_features:
            raise GatewayError(403, f"Feature '{feature}' is disabled for this API key")
