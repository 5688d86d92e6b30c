"""OpenAI's Responses API (`POST /v1/responses`) over the chat completions dialect.

A Responses request is turned into a chat request as it is admitted, so access lists, features,
budgets, policies and metering treat it exactly as chat; the chat answer (from whichever upstream the
route picks, translated by the usual bridges) is turned back into a Response, and a chat stream into
Responses events. Covey keeps no responses: `previous_response_id` and `background` are refused, and
every answer says `store: false`. What chat cannot carry (files, items of built-in tools, a forced
built-in tool) is refused with a 400 naming it; built-in tools merely offered are not offered to a
chat model, which could not run them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from covey.gateway.bridges import StreamConverter
from covey.gateway.errors import GatewayError
from covey.kit.error_handlers import error_body
from covey.pricing.tokens import Tokens

Json = dict[str, Any]

# Freeform ("custom") tools travel as functions taking one string, and come back as custom calls.
_CUSTOM_INPUT = "input"
_CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {_CUSTOM_INPUT: {"type": "string", "description": "The tool's whole input, as free text."}},
    "required": [_CUSTOM_INPUT],
    "additionalProperties": False,
}
# Fields that mean the same on both APIs.
_SAME = ("temperature", "top_p", "user", "parallel_tool_calls", "prompt_cache_key", "safety_identifier", "service_tier")
_STATEFUL = ("previous_response_id", "conversation", "background", "prompt")


@dataclass(frozen=True)
class Front:
    """What a Responses request said that its chat form does not carry: the request itself (echoed
    in the answer) and the names of its freeform tools."""

    request: Json
    custom: set[str]
    namespaces: dict[str, str] = field(default_factory=dict)  # tool name → the namespace it came in


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


# ---- requests -------------------------------------------------------------------------------------------


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
            arguments = orjson.dumps({_CUSTOM_INPUT: str(item.get("input", ""))}).decode()
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


def request_to_chat(body: Json) -> tuple[Json, Front]:
    """The chat request meaning the same, and what the answer needs of the original."""
    for name in _STATEFUL:
        if body.get(name):
            raise GatewayError(400, f"{name}: Covey keeps no responses; send the whole conversation in input")
    if "input" not in body:
        raise GatewayError(400, "input: Field required")
    custom: set[str] = set()
    messages = _messages(body["input"], custom)
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
        choice = _tool_choice(body["tool_choice"])
        if chat.get("tools"):
            chat["tool_choice"] = choice
        elif choice == "required" or isinstance(choice, dict):
            raise GatewayError(400, "tool_choice: names a tool the request does not offer to this model")
    response_format = _response_format(body.get("text"))
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
    return chat, Front(request=body, custom=custom, namespaces=namespaces)


# ---- answers --------------------------------------------------------------------------------------------


def _usage(tokens: Tokens) -> Json:
    return {
        "input_tokens": tokens.input,
        "input_tokens_details": {"cached_tokens": tokens.cached},
        "output_tokens": tokens.output,
        "output_tokens_details": {"reasoning_tokens": tokens.reasoning},
        "total_tokens": tokens.input + tokens.output,
    }


def _call_item(call_id: str, name: str, arguments: str, front: Front, status: str = "completed") -> Json:
    item = _plain_call_item(call_id, name, arguments, front.custom, status)
    if name in front.namespaces:
        item["namespace"] = front.namespaces[name]
    return item


def _plain_call_item(call_id: str, name: str, arguments: str, custom: set[str], status: str) -> Json:
    if name in custom:
        parsed = _loads(arguments)
        text = parsed.get(_CUSTOM_INPUT) if isinstance(parsed, dict) else None
        return {
            "type": "custom_tool_call",
            "id": _new_id("ctc"),
            "call_id": call_id,
            "name": name,
            "input": text if isinstance(text, str) else arguments,
            "status": status,
        }
    return {
        "type": "function_call",
        "id": _new_id("fc"),
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


def _message_item(text: str, status: str = "completed") -> Json:
    return {
        "type": "message",
        "id": _new_id("msg"),
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _reasoning_item(text: str) -> Json:
    return {"type": "reasoning", "id": _new_id("rs"), "summary": [{"type": "summary_text", "text": text}]}


def _envelope(request: Json, *, response_id: str, model: str, created: int) -> Json:
    """The fields of a Response that echo the request."""
    text = request.get("text") if isinstance(request.get("text"), dict) else {}
    return {
        "id": response_id,
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
        "previous_response_id": None,
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None},
        "store": False,
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


def _finished(response: Json, finish_reason: str | None) -> None:
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
    response = _envelope(
        request,
        response_id="resp_" + str(chat.get("id") or uuid.uuid4().hex),
        model=str(chat.get("model") or request.get("model")),
        created=int(chat.get("created") or time.time()),
    )
    output: list[Json] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        output.append(_reasoning_item(reasoning))
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content:
        output.append(_message_item(str(content)))
    if message.get("refusal"):
        item = _message_item("")
        item["content"] = [{"type": "refusal", "refusal": str(message["refusal"])}]
        output.append(item)
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        output.append(_call_item(str(call.get("id", "")), str(fn.get("name", "")), str(fn.get("arguments", "")), front))
    response["output"] = output
    response["usage"] = _usage(Tokens.from_openai(chat.get("usage")))
    _finished(response, choice.get("finish_reason"))
    return response


# ---- streams --------------------------------------------------------------------------------------------


class _Open:
    """One output item being streamed."""

    def __init__(self, index: int, item: Json) -> None:
        self.index = index
        self.item = item
        self.text = ""


class ChatToResponsesStream:
    """Wraps the converter that yields chat chunks (from any upstream) and turns them into Responses
    events: `response.created` first, the output items as they grow, `response.completed` last."""

    def __init__(self, inner: StreamConverter, *, model: str, front: Front) -> None:
        self.inner = inner
        self.front = front
        self.sequence = 0
        self.response = _envelope(front.request, response_id=_new_id("resp"), model=model, created=int(time.time()))
        self.started = False
        self.items: list[_Open] = []
        self.current: _Open | None = None
        self.calls: dict[int, _Open] = {}  # chat tool-call index → its item
        self.finish_reason: str | None = None

    @property
    def tokens(self) -> Tokens:
        return self.inner.tokens

    def _event(self, kind: str, **fields: Any) -> Json:
        self.sequence += 1
        return {"type": kind, "sequence_number": self.sequence - 1, **fields}

    def _start(self) -> list[Json]:
        self.started = True
        snapshot = {**self.response, "output": []}
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def _open(self, item: Json) -> tuple[_Open, list[Json]]:
        out = self._close_current()
        opened = _Open(len(self.items), item)
        self.items.append(opened)
        self.current = opened
        out.append(self._event("response.output_item.added", output_index=opened.index, item=dict(item)))
        if item["type"] == "message":
            part = {"type": "output_text", "text": "", "annotations": []}
            out.append(
                self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=opened.index,
                    content_index=0,
                    part=part,
                )
            )
        elif item["type"] == "reasoning":
            out.append(
                self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item["id"],
                    output_index=opened.index,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
            )
        return opened, out

    def _close_current(self) -> list[Json]:
        opened, self.current = self.current, None
        if opened is None:
            return []
        item, ids = opened.item, {"item_id": opened.item["id"], "output_index": opened.index}
        out: list[Json] = []
        if item["type"] == "message":
            item["content"] = [{"type": "output_text", "text": opened.text, "annotations": []}]
            out.append(self._event("response.output_text.done", **ids, content_index=0, text=opened.text, logprobs=[]))
            out.append(self._event("response.content_part.done", **ids, content_index=0, part=item["content"][0]))
        elif item["type"] == "reasoning":
            item["summary"] = [{"type": "summary_text", "text": opened.text}]
            out.append(self._event("response.reasoning_summary_text.done", **ids, summary_index=0, text=opened.text))
            out.append(
                self._event("response.reasoning_summary_part.done", **ids, summary_index=0, part=item["summary"][0])
            )
        else:
            final = _call_item(item["call_id"], item["name"], opened.text, self.front)
            final["id"] = item["id"]
            item.clear()
            item.update(final)
            if item["type"] == "function_call":
                out.append(
                    self._event(
                        "response.function_call_arguments.done", **ids, name=item["name"], arguments=opened.text
                    )
                )
            else:
                out.append(self._event("response.custom_tool_call_input.done", **ids, input=item["input"]))
        item["status"] = "completed"
        out.append(self._event("response.output_item.done", output_index=opened.index, item=item))
        return out

    def _convert(self, chunk: Json) -> list[Json]:
        out: list[Json] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(thought, str) and thought:
                if self.current is None or self.current.item["type"] != "reasoning":
                    _, opened = self._open({"type": "reasoning", "id": _new_id("rs"), "summary": []})
                    out += opened
                assert self.current is not None
                self.current.text += thought
                ids = {"item_id": self.current.item["id"], "output_index": self.current.index}
                out.append(self._event("response.reasoning_summary_text.delta", **ids, summary_index=0, delta=thought))
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self.current is None or self.current.item["type"] != "message":
                    _, opened = self._open(_message_item("", status="in_progress") | {"content": []})
                    out += opened
                assert self.current is not None
                self.current.text += text
                ids = {"item_id": self.current.item["id"], "output_index": self.current.index}
                out.append(self._event("response.output_text.delta", **ids, content_index=0, delta=text, logprobs=[]))
            for call in delta.get("tool_calls") or ():
                index = int(call.get("index") or 0)
                fn = call.get("function") or {}
                if index not in self.calls:
                    name = str(fn.get("name") or "")
                    item = _call_item(str(call.get("id") or ""), name, "", self.front, status="in_progress")
                    item.pop("input", None)
                    if item["type"] == "function_call":
                        item["arguments"] = ""
                    self.calls[index], opened = self._open(item)
                    out += opened
                arguments = fn.get("arguments")
                if isinstance(arguments, str) and arguments:
                    opened_call = self.calls[index]
                    opened_call.text += arguments
                    if opened_call.item["type"] == "function_call":
                        ids = {"item_id": opened_call.item["id"], "output_index": opened_call.index}
                        out.append(self._event("response.function_call_arguments.delta", **ids, delta=arguments))
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return out

    def feed(self, event: Json) -> list[Json]:
        out = [] if self.started else self._start()
        for chunk in self.inner.feed(event):
            out += self._convert(chunk)
        return out

    def finish(self) -> list[Json]:
        out = [] if self.started else self._start()
        for chunk in self.inner.finish():
            out += self._convert(chunk)
        out += self._close_current()
        response = self.response
        response["output"] = [opened.item for opened in self.items]
        response["usage"] = _usage(self.inner.tokens)
        _finished(response, self.finish_reason)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        out.append(self._event(kind, response=response))
        return out


def settle(events: list[Json], tokens: Tokens, cost: float, *, cut_at_cap: bool) -> None:
    """The closing event as the gateway metered the answer: its usage (what was charged) with Requesty's
    `usage.cost`, and `incomplete` when the stream was ended at its paid output cap."""
    for event in events:
        response = event.get("response") if event.get("type") in _CLOSING else None
        if not isinstance(response, dict):
            continue
        response["usage"] = {**_usage(tokens), "cost": cost}
        if cut_at_cap:
            event["type"] = "response.incomplete"
            _finished(response, "length")


_CLOSING = ("response.completed", "response.incomplete")


def generated_bytes(events: list[Json]) -> int:
    """Bytes of generated text in Responses events: their deltas only (the `.done` events and the
    closing response repeat the text)."""
    return sum(
        len(e["delta"].encode()) for e in events if isinstance(e.get("delta"), str) and e["type"].endswith(".delta")
    )


def stream_error(status: int, message: str, origin: str) -> bytes:
    """A failed stream, as the Responses API reports one: an `error` event, then `response.failed`."""
    # The Responses API's fields, and Requesty's envelope beside them (the SDKs raise on its `error`).
    envelope = error_body(status, message, origin=origin)
    error = {"type": "error", "code": str(status), "message": message, "param": None, **envelope}
    failed = {
        "type": "response.failed",
        "response": {
            "id": _new_id("resp"),
            "object": "response",
            "status": "failed",
            "error": {"code": str(status), "message": message},
        },
    }
    return (
        b"event: error\ndata: "
        + orjson.dumps(error)
        + b"\n\nevent: response.failed\ndata: "
        + orjson.dumps(failed)
        + b"\n\n"
    )
