"""A Responses request as the chat request meaning the same (`request_to_chat`), and what its answer
needs of the original (`Front`). What chat cannot carry (files, items of built-in tools, a forced
built-in tool) is refused with a 400 naming it; built-in tools merely offered are not offered to a
chat model, which could not run them. A request that continues a stored response has had the
conversation put in its `input` by then (`continued`); the other stateful fields (`conversation`,
`background`, `prompt`) are refused (docs/design.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from covey.gateway.errors import GatewayError
from covey.kit.ids import hex_id

Json = dict[str, Any]
T = TypeVar("T")

# Freeform ("custom") tools travel as functions taking one string, and come back as custom calls.
CUSTOM_INPUT = "input"
_CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {CUSTOM_INPUT: {"type": "string", "description": "The tool's whole input, as free text."}},
    "required": [CUSTOM_INPUT],
    "additionalProperties": False,
}
# Fields that mean the same on both APIs.
_SAME = ("temperature", "top_p", "user", "parallel_tool_calls", "prompt_cache_key", "safety_identifier", "service_tier")
_STATEFUL = ("previous_response_id", "conversation", "background", "prompt")
_KEEPS_NONE = "Covey keeps no responses; send the whole conversation in input"


def new_id(prefix: str) -> str:
    return f"{prefix}_{hex_id()}"


@dataclass(frozen=True)
class Front:
    """What a Responses request said that its chat form does not carry: the request itself (echoed
    in the answer, its `input` the whole conversation), the names of its freeform tools, and the
    answer's own id, whether it is stored and the response it continues."""

    request: Json
    custom: set[str]
    namespaces: dict[str, str] = field(default_factory=dict)  # tool name → the namespace it came in
    response_id: str = field(default_factory=lambda: new_id("resp"))
    store: bool = False
    previous_id: str | None = None
    # Why its chat form cannot be sent (only an upstream serving the Responses API may have it).
    untranslatable: str | None = None


def input_items(given: Any) -> list[Any]:
    """A request's `input` as items (text is one user message)."""
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    return list(given) if isinstance(given, list) else []


def continued(body: Json, earlier: list[Any]) -> Json:
    """The request with the conversation it continues (`earlier`: the stored response's input, then its
    output) before its own input. Reasoning items without their encrypted content are left out: no
    model takes them back."""
    if not isinstance(body.get("input"), str | list):
        raise GatewayError(400, "input: must be a string or a list of items")
    kept = [
        item
        for item in earlier
        if not (isinstance(item, dict) and item.get("type") == "reasoning" and not item.get("encrypted_content"))
    ]
    request = {name: value for name, value in body.items() if name != "previous_response_id"}
    request["input"] = kept + input_items(body["input"])
    return request


def _part(where: str, part: Any) -> Json:
    if not isinstance(part, dict):
        raise GatewayError(400, f"{where}: must be an object")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text", "refusal"):
        text = part.get("text", part.get("refusal"))
        if not isinstance(text, str):
            raise GatewayError(400, f"{where}.text: must be a string")
        return {"type": "text", "text": text}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise GatewayError(400, f"{where}: input_image needs an image_url (file_id cannot be carried)")
        image: Json = {"url": url}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise GatewayError(400, f"{where}: content of type {kind!r} cannot be carried to this model")


def _content(where: str, content: Any) -> str | list[Json]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise GatewayError(400, f"{where}: must be a string or a list of content parts")
    parts = [_part(f"{where}[{i}]", p) for i, p in enumerate(content)]
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _output_text(where: str, output: Any) -> str:
    if isinstance(output, str):
        return output
    content = _content(where, output)
    if not isinstance(content, str):
        raise GatewayError(400, f"{where}: only text can be carried in a tool's output to this model")
    return content


def _messages(items: Any, custom: set[str]) -> list[Json]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise GatewayError(400, "input: must be a string or a non-empty list of items")
    messages: list[Json] = []

    def call(entry: Json) -> None:
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant" and last.get("tool_calls") is not None:
            last["tool_calls"].append(entry)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [entry]})

    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise GatewayError(400, f"{where}: must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise GatewayError(400, f"{where}.role: must be user, assistant, system or developer")
            messages.append({"role": role, "content": _content(f"{where}.content", item.get("content"))})
        elif kind == "function_call":
            call(
                {
                    "id": str(item.get("call_id") or item.get("id") or ""),
                    "type": "function",
                    "function": {"name": str(item.get("name", "")), "arguments": str(item.get("arguments") or "{}")},
                }
            )
        elif kind == "custom_tool_call":
            arguments = orjson.dumps({CUSTOM_INPUT: str(item.get("input", ""))}).decode()
            name = str(item.get("name", ""))
            custom.add(name)
            call(
                {
                    "id": str(item.get("call_id") or ""),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
        elif kind in ("function_call_output", "custom_tool_call_output"):
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": str(item.get("call_id") or ""),
                    "content": _output_text(f"{where}.output", item.get("output", "")),
                }
            )
        elif kind == "reasoning":
            continue  # the model's own earlier thinking: chat takes none back, and it carries no instruction
        else:
            raise GatewayError(400, f"{where}: items of type {kind!r} cannot be carried to this model")
    return messages


def _function(where: str, tool: Json, custom: set[str], namespaces: dict[str, str], namespace: str | None) -> Json:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise GatewayError(400, f"{where}.name: Field required")
    if namespace is not None:
        namespaces[name] = namespace
    if tool.get("type") == "custom":
        custom.add(name)
        described = str(tool.get("description") or "")
        return {
            "type": "function",
            "function": {"name": name, "description": described, "parameters": _CUSTOM_PARAMETERS},
        }
    function: Json = {"name": name, "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
    if tool.get("description"):
        function["description"] = tool["description"]
    if tool.get("strict") is not None:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _tools(tools: Any, custom: set[str], namespaces: dict[str, str]) -> list[Json]:
    """Function and freeform tools, those inside namespaces too. Tools the provider would have to run
    itself (`web_search`, `file_search`, …) are not offered to a chat model, which could not run them;
    a request that forces one is refused (`_tool_choice`)."""
    if not isinstance(tools, list):
        raise GatewayError(400, "tools: must be a list")
    out: list[Json] = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise GatewayError(400, f"{where}: must be an object")
        kind = tool.get("type")
        if kind in ("function", "custom"):
            out.append(_function(where, tool, custom, namespaces, None))
        elif kind == "namespace":
            inner = tool.get("tools")
            if not isinstance(inner, list):
                raise GatewayError(400, f"{where}.tools: must be a list")
            name = str(tool.get("name") or "")
            for j, member in enumerate(inner):
                if isinstance(member, dict) and member.get("type") in ("function", "custom"):
                    out.append(_function(f"{where}.tools[{j}]", member, custom, namespaces, name))
    return out


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom") and choice.get("name"):
        return {"type": "function", "function": {"name": choice["name"]}}
    kind = choice.get("type") if isinstance(choice, dict) else choice
    raise GatewayError(
        400, f"tool_choice: {kind!r} cannot be carried to this model (auto, none, required or a function)"
    )


def _response_format(text: Any) -> Json | None:
    if text is None:
        return None
    if not isinstance(text, dict):
        raise GatewayError(400, "text: must be an object")
    fmt = text.get("format")
    if fmt is None or (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return None
    if not isinstance(fmt, dict):
        raise GatewayError(400, "text.format: must be an object")
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise GatewayError(400, "text.format.schema: must be a JSON schema object")
        schema: Json = {"name": str(fmt.get("name") or "response"), "schema": fmt["schema"]}
        for key in ("strict", "description"):
            if fmt.get(key) is not None:
                schema[key] = fmt[key]
        return {"type": "json_schema", "json_schema": schema}
    raise GatewayError(400, f"text.format.type: {fmt.get('type')!r} is not text, json_object or json_schema")


def _carried(native_only: bool, make: Callable[[], T], otherwise: T) -> T:
    """What `make` translates; for a request only upstreams serving the Responses API get, `otherwise`
    where chat cannot carry it (they get it as it came)."""
    if not native_only:
        return make()
    try:
        return make()
    except GatewayError:
        return otherwise


def request_to_chat(
    body: Json, *, store: bool = False, previous_id: str | None = None, untranslatable: str | None = None
) -> tuple[Json, Front]:
    """The chat request meaning the same, and what the answer needs of the original.

    With `untranslatable` (why chat cannot carry the request; its route has upstreams that serve the
    Responses API itself), what chat cannot carry (files, built-in tools' items and a forced built-in
    tool, other text formats) is no reason to refuse it: the chat form only governs and meters it,
    its input then as JSON text (which counts its bytes for the budget), and it is never sent."""
    native_only = untranslatable is not None
    for name in _STATEFUL:
        if body.get(name):
            raise GatewayError(400, f"{name}: {_KEEPS_NONE}")
    if "input" not in body:
        raise GatewayError(400, "input: Field required")
    custom: set[str] = set()
    given = body["input"]
    as_text = [{"role": "user", "content": orjson.dumps(given).decode()}]
    messages = _carried(
        native_only and isinstance(given, list) and bool(given), lambda: _messages(given, custom), as_text
    )
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise GatewayError(400, "instructions: must be a string")
        messages.insert(0, {"role": "system", "content": instructions})
    chat: Json = {"model": body.get("model"), "messages": messages}
    for name in _SAME:
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("stream"):
        chat["stream"] = True
    limit = body.get("max_output_tokens")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise GatewayError(400, "max_output_tokens: must be an integer ≥ 1")
        chat["max_completion_tokens"] = limit
    namespaces: dict[str, str] = {}
    if body.get("tools"):
        offered = _tools(body["tools"], custom, namespaces)
        if offered:
            chat["tools"] = offered
    if body.get("tool_choice") is not None and body["tool_choice"] != "auto":
        choice = _carried(native_only, lambda: _tool_choice(body["tool_choice"]), None)
        if chat.get("tools") and choice is not None:
            chat["tool_choice"] = choice
        elif (choice == "required" or isinstance(choice, dict)) and not native_only:
            raise GatewayError(400, "tool_choice: names a tool the request does not offer to this model")
    response_format = _carried(native_only, lambda: _response_format(body.get("text")), None)
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = body.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise GatewayError(400, "reasoning: must be an object")
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = reasoning["effort"]
    if isinstance(body.get("metadata"), dict) and body["metadata"]:
        chat["metadata"] = body["metadata"]
    front = Front(
        request=body,
        custom=custom,
        namespaces=namespaces,
        store=store,
        previous_id=previous_id,
        untranslatable=untranslatable,
    )
    return chat, front
