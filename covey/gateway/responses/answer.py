"""A chat answer as a Response (`chat_to_response`), and the pieces of a Response its stream builds too:
the envelope that echoes the request, output items, usage."""

from __future__ import annotations

import time
from typing import Any

import orjson

from covey.gateway.responses.request import CUSTOM_INPUT, Front, new_id
from covey.pricing.tokens import Tokens

Json = dict[str, Any]


def usage_of(tokens: Tokens) -> Json:
    return {
        "input_tokens": tokens.input,
        "input_tokens_details": {"cached_tokens": tokens.cached},
        "output_tokens": tokens.output,
        "output_tokens_details": {"reasoning_tokens": tokens.reasoning},
        "total_tokens": tokens.input + tokens.output,
    }


def call_item(call_id: str, name: str, arguments: str, front: Front, status: str = "completed") -> Json:
    item = _plain_call_item(call_id, name, arguments, front.custom, status)
    if name in front.namespaces:
        item["namespace"] = front.namespaces[name]
    return item


def _plain_call_item(call_id: str, name: str, arguments: str, custom: set[str], status: str) -> Json:
    if name in custom:
        parsed = _loads(arguments)
        text = parsed.get(CUSTOM_INPUT) if isinstance(parsed, dict) else None
        return {
            "type": "custom_tool_call",
            "id": new_id("ctc"),
            "call_id": call_id,
            "name": name,
            "input": text if isinstance(text, str) else arguments,
            "status": status,
        }
    return {
        "type": "function_call",
        "id": new_id("fc"),
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text or "null")
    except orjson.JSONDecodeError:
        return None


def message_item(text: str, status: str = "completed") -> Json:
    return {
        "type": "message",
        "id": new_id("msg"),
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def reasoning_item(text: str) -> Json:
    return {"type": "reasoning", "id": new_id("rs"), "summary": [{"type": "summary_text", "text": text}]}


def stamp(response: Json, front: Front) -> None:
    """The Response as Covey answers it: its own id, whether it is stored, the response it continues."""
    response["id"] = front.response_id
    response["store"] = front.store
    response["previous_response_id"] = front.previous_id


def envelope(front: Front, *, model: str, created: int) -> Json:
    """The fields of a Response that echo the request."""
    request = front.request
    text = request.get("text") if isinstance(request.get("text"), dict) else {}
    return {
        "id": front.response_id,
        "object": "response",
        "created_at": created,
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": front.previous_id,
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "store": front.store,
        "temperature": request.get("temperature"),
        "text": {"format": {"type": "text"}, **(text or {})},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p"),
        "truncation": "disabled",
        "usage": None,
        "user": request.get("user"),
        "metadata": request.get("metadata") or {},
    }


def finished(response: Json, finish_reason: str | None) -> None:
    if finish_reason == "length":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    elif finish_reason == "content_filter":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
    else:
        response["status"] = "completed"


def chat_to_response(chat: Json, front: Front) -> Json:
    request = front.request
    choice = (chat.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    response = envelope(
        front, model=str(chat.get("model") or request.get("model")), created=int(chat.get("created") or time.time())
    )
    output: list[Json] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        output.append(reasoning_item(reasoning))
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content:
        output.append(message_item(str(content)))
    if message.get("refusal"):
        item = message_item("")
        item["content"] = [{"type": "refusal", "refusal": str(message["refusal"])}]
        output.append(item)
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        output.append(call_item(str(call.get("id", "")), str(fn.get("name", "")), str(fn.get("arguments", "")), front))
    response["output"] = output
    response["usage"] = usage_of(Tokens.from_openai(chat.get("usage")))
    finished(response, choice.get("finish_reason"))
    return response
