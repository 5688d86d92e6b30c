"""`GET /v1/responses/{id}/input_items`: the conversation a stored response answered, as the
Responses API lists it (items with ids, messages with content parts; newest first unless asked)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from covey.gateway.errors import GatewayError

Json = dict[str, Any]
MAX_LIMIT = 100


def _item(response_id: str, index: int, item: Any) -> Json:
    own = f"{response_id.removeprefix('resp_')}{index:04d}"
    if not isinstance(item, dict):
        return {"id": f"msg_{own}", "type": "message", "role": "user", "content": [], "status": "completed"}
    if item.get("type", "message") != "message":
        return {**item, "id": item.get("id") or f"item_{own}"}
    role = item.get("role") or "user"
    content = item.get("content")
    if isinstance(content, str):
        kind = "output_text" if role == "assistant" else "input_text"
        content = [{"type": kind, "text": content}]
    return {
        **item,
        "id": item.get("id") or f"msg_{own}",
        "type": "message",
        "role": role,
        "content": content if isinstance(content, list) else [],
        "status": item.get("status") or "completed",
    }


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def listed(response_id: str, stored_input: list[Any], query_string: bytes) -> Json:
    """One page of the items: `order` (asc, desc), `limit` (1–100, 20), `after` (an item id)."""
    query = parse_qs(query_string.decode("latin-1"))
    order = _one(query, "order") or "desc"
    if order not in ("asc", "desc"):
        raise GatewayError(400, "order: must be asc or desc")
    given = _one(query, "limit") or "20"
    if not given.isdigit() or not 1 <= int(given) <= MAX_LIMIT:
        raise GatewayError(400, f"limit: must be an integer from 1 to {MAX_LIMIT}")
    items = [_item(response_id, n, item) for n, item in enumerate(stored_input)]
    if order == "desc":
        items.reverse()
    after = _one(query, "after")
    if after is not None:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise GatewayError(400, f"after: no input item {after!r} in this response")
        items = items[ids.index(after) + 1 :]
    page = items[: int(given)]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > len(page),
    }
