"""OpenAI chat completions ↔ Anthropic messages: requests, answers and stream events, both ways.

Meaning is kept: structured output (`response_format` ↔ `output_config.format`), reasoning
(`reasoning_effort` ↔ `thinking`, and the thoughts themselves in answers), tool choice and parallel
tool use, stop sequences, images, and usage with cached tokens. What has no counterpart on the other
side is refused with a 400 naming it (`GatewayError`), never dropped."""

from __future__ import annotations

import time
from typing import Any

import orjson

from covey.gateway.errors import GatewayError
from covey.kit.ids import hex_id
from covey.pricing.tokens import Tokens, count

Json = dict[str, Any]

_STOP_TO_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_FINISH_TO_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "end_turn"}
DEFAULT_MAX_TOKENS = 4096
# OpenAI's reasoning efforts as Anthropic thinking budgets (tokens), and back by the nearest bound.
_EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768}
_MIN_THINKING = 1024
# Chat fields that have no counterpart in Anthropic's API; a request using one is refused.
_CHAT_ONLY = ("logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty", "seed", "audio")
_MESSAGES_ONLY = ("top_k",)


# ---- requests -------------------------------------------------------------------------------------------


def _image_part_to_block(part: Json) -> Json:
    url = str((part.get("image_url") or {}).get("url", ""))
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _content_to_blocks(content: Any) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[Json] = []
    for part in content or ():
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_image_part_to_block(part))
    return blocks


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or () if p.get("type") == "text")


def chat_request_to_messages(body: Json) -> Json:
    system: list[str] = []
    messages: list[Json] = []

    def add(role: str, blocks: list[Json]) -> None:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # Anthropic wants user and assistant turns to alternate
        else:
            messages.append({"role": role, "content": blocks})

    for m in body.get("messages") or ():
        role = m.get("role")
        if role in ("system", "developer"):
            system.append(_text(m.get("content")))
        elif role == "tool":
            add(
                "user",
                [{"type": "tool_result", "tool_use_id": m.get("tool_call_id", ""), "content": _text(m.get("content"))}],
            )
        elif role == "assistant":
            blocks = _content_to_blocks(m.get("content"))
            for call in m.get("tool_calls") or ():
                fn = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id", ""),
                        "name": fn.get("name", ""),
                        "input": orjson.loads(fn.get("arguments") or "{}"),
                    }
                )
            add("assistant", blocks)
        else:
            add("user", _content_to_blocks(m.get("content")))

    out: Json = {
        "model": body.get("model"),
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS,
    }
    if system:
        out["system"] = "\n\n".join(system)
    for key in ("temperature", "top_p", "stream"):
        if body.get(key) is not None:
            out[key] = body[key]
    for key in _CHAT_ONLY:
        if body.get(key) not in (None, False, 0):
            raise GatewayError(400, f"{key}: cannot be carried to an Anthropic model")
    n = body.get("n")
    if n is not None and n != 1:
        raise GatewayError(400, "n: an Anthropic model gives one answer per request")
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    fmt = _output_format(body.get("response_format"))
    if fmt is not None:
        out["output_config"] = {"format": fmt}
    effort = body.get("reasoning_effort")
    if effort not in (None, "none"):
        if effort not in _EFFORT_BUDGET:
            raise GatewayError(400, f"reasoning_effort: {effort!r} is not one of {', '.join(_EFFORT_BUDGET)}")
        # Thinking counts against max_tokens and must leave room for the answer.
        budget = min(_EFFORT_BUDGET[effort], int(out["max_tokens"]) - 1)
        if budget < _MIN_THINKING:
            raise GatewayError(
                400, f"reasoning_effort: an Anthropic model needs max_tokens above {_MIN_THINKING} to think"
            )
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    if body.get("tools"):
        out["tools"] = [
            {
                "name": t["function"]["name"],
                "description": t["function"].get("description", ""),
                "input_schema": t["function"].get("parameters") or {"type": "object", "properties": {}},
            }
            for t in body["tools"]
            if t.get("type") == "function"
        ]
        choice = body.get("tool_choice")
        tool_choice: Json = {"type": "auto"}
        if choice == "required":
            tool_choice = {"type": "any"}
        elif isinstance(choice, dict):
            tool_choice = {"type": "tool", "name": choice.get("function", {}).get("name", "")}
        elif choice == "none":
            tool_choice = {"type": "none"}
        if body.get("parallel_tool_calls") is False and tool_choice["type"] != "none":
            tool_choice["disable_parallel_tool_use"] = True
        if choice is not None or "disable_parallel_tool_use" in tool_choice:
            out["tool_choice"] = tool_choice
    if body.get("user"):
        out["metadata"] = {"user_id": body["user"]}
    return out


def _output_format(response_format: Any) -> Json | None:
    """OpenAI's `response_format` as Anthropic's `output_config.format`."""
    if not isinstance(response_format, dict) or response_format.get("type") in (None, "text"):
        return None
    if response_format["type"] == "json_object":
        return {"type": "json_schema", "schema": {"type": "object"}}
    if response_format["type"] == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise GatewayError(400, "response_format.json_schema.schema: must be a JSON schema object")
        return {"type": "json_schema", "schema": schema}
    raise GatewayError(
        400, f"response_format.type: {response_format['type']!r} cannot be carried to an Anthropic model"
    )


def _response_format(body: Json) -> Json | None:
    """Anthropic's `output_config.format` (or the older beta `output_format`) as OpenAI's `response_format`."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        raise GatewayError(400, "output_config.format: must be {type: json_schema, schema: {...}}")
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"], "strict": True}}


def _effort(thinking: Any) -> str | None:
    """Anthropic's `thinking` as OpenAI's `reasoning_effort`: the smallest effort whose budget covers it."""
    if not isinstance(thinking, dict) or thinking.get("type") == "disabled":
        return None
    budget = thinking.get("budget_tokens")
    if thinking.get("type") == "adaptive" or not isinstance(budget, int):
        return "medium"
    for effort in ("low", "medium", "high"):
        if budget <= _EFFORT_BUDGET[effort]:
            return effort
    return "high"


def _block_to_part(block: Json) -> Json | None:
    if block.get("type") in ("thinking", "redacted_thinking"):
        return None  # the model's own earlier thoughts: chat takes none back
    if block.get("type") not in ("text", "image"):
        raise GatewayError(
            400, f"content blocks of type {block.get('type')!r} cannot be carried to an OpenAI-format model"
        )
    if block.get("type") == "text":
        return {"type": "text", "text": block.get("text", "")}
    if block.get("type") == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            return {"type": "image_url", "image_url": {"url": f"data:{source['media_type']};base64,{source['data']}"}}
        return {"type": "image_url", "image_url": {"url": source.get("url", "")}}
    return None


def messages_request_to_chat(body: Json) -> Json:
    messages: list[Json] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _text(system)})
    for m in body.get("messages") or ():
        content = m.get("content")
        if isinstance(content, str):
            messages.append({"role": m.get("role"), "content": content})
            continue
        parts: list[Json] = []
        calls: list[Json] = []
        for block in content or ():
            kind = block.get("type")
            if kind == "tool_result":
                result = block.get("content")
                messages.append(
                    {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": _text(result or "")}
                )
            elif kind == "tool_use":
                calls.append(
                    {
                        "id": block.get("id", ""),
                        "type": "function",
                        "function": {
                            "name": block.get("name", ""),
                            "arguments": orjson.dumps(block.get("input")).decode(),
                        },
                    }
                )
            elif (part := _block_to_part(block)) is not None:
                parts.append(part)
        if parts or calls:
            message: Json = {"role": m.get("role"), "content": parts or None}
            if calls:
                message["tool_calls"] = calls
            messages.append(message)
    out: Json = {"model": body.get("model"), "messages": messages, "max_tokens": body.get("max_tokens")}
    for key in ("temperature", "top_p", "stream"):
        if body.get(key) is not None:
            out[key] = body[key]
    for key in _MESSAGES_ONLY:
        if body.get(key) is not None:
            raise GatewayError(400, f"{key}: cannot be carried to an OpenAI-format model")
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    response_format = _response_format(body)
    if response_format is not None:
        out["response_format"] = response_format
    effort = _effort(body.get("thinking"))
    if effort is not None:
        out["reasoning_effort"] = effort
    if body.get("tools"):
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.get("name", ""),
                    "description": t.get("description", ""),
                    "parameters": t.get("input_schema") or {},
                },
            }
            for t in body["tools"]
        ]
        choice = body.get("tool_choice") or {}
        if choice.get("type") == "any":
            out["tool_choice"] = "required"
        elif choice.get("type") == "tool":
            out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name", "")}}
        elif choice.get("type") == "none":
            out["tool_choice"] = "none"
        elif choice.get("type") == "auto":
            out["tool_choice"] = "auto"
        if choice.get("disable_parallel_tool_use"):
            out["parallel_tool_calls"] = False
    user = (body.get("metadata") or {}).get("user_id")
    if user:
        out["user"] = user
    return out


# ---- answers --------------------------------------------------------------------------------------------


def messages_response_to_chat(resp: Json) -> Json:
    text = "".join(b.get("text", "") for b in resp.get("content") or () if b.get("type") == "text")
    thought = "".join(b.get("thinking", "") for b in resp.get("content") or () if b.get("type") == "thinking")
    calls = [
        {
            "id": b.get("id", ""),
            "type": "function",
            "function": {"name": b.get("name", ""), "arguments": orjson.dumps(b.get("input") or {}).decode()},
        }
        for b in resp.get("content") or ()
        if b.get("type") == "tool_use"
    ]
    message: Json = {"role": "assistant", "content": text or None}
    if thought:
        message["reasoning_content"] = thought
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-" + (str(resp["id"]) if "id" in resp else hex_id()),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": resp.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _STOP_TO_FINISH.get(resp.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": Tokens.from_anthropic(resp.get("usage")).to_openai(),
    }


def chat_response_to_messages(resp: Json) -> Json:
    choice = (resp.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[Json] = []
    thought = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(thought, str) and thought:
        content.append({"type": "thinking", "thinking": thought, "signature": ""})
    if message.get("content"):
        content.append({"type": "text", "text": _text(message["content"])})
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": fn.get("name", ""),
                "input": _json(fn.get("arguments")),
            }
        )
    return {
        "id": "msg_" + (str(resp["id"]) if "id" in resp else hex_id()),
        "type": "message",
        "role": "assistant",
        "model": resp.get("model"),
        "content": content,
        "stop_reason": _FINISH_TO_STOP.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": Tokens.from_openai(resp.get("usage")).to_anthropic(),
    }


def _json(text: Any) -> Any:
    try:
        return orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {"_raw": text}


# ---- streams --------------------------------------------------------------------------------------------


class ChatToMessagesStream:
    """OpenAI chunks in, Anthropic stream events out."""

    def __init__(self, model: str, *, input_estimate: int = 0) -> None:
        self.model = model
        self.input_estimate = input_estimate
        self.started = False
        self.block: str | None = None  # "thinking" | "text" | "tool_use"
        self.index = -1
        self.tokens = Tokens()
        self.stop_reason = "end_turn"

    def _open(self, kind: str, block: Json) -> list[Json]:
        out = self._close()
        self.index += 1
        self.block = kind
        out.append({"type": "content_block_start", "index": self.index, "content_block": block})
        return out

    def _close(self) -> list[Json]:
        if self.block is None:
            return []
        self.block = None
        return [{"type": "content_block_stop", "index": self.index}]

    def feed(self, chunk: Json) -> list[Json]:
        out: list[Json] = []
        if not self.started:
            self.started = True
            out.append(
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_" + (str(chunk["id"]) if "id" in chunk else hex_id()),
                        "type": "message",
                        "role": "assistant",
                        "model": self.model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": self.input_estimate, "output_tokens": 0},
                    },
                }
            )
        if chunk.get("usage"):
            self.tokens = Tokens.from_openai(chunk["usage"])
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(thought, str) and thought:
                if self.block != "thinking":
                    out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                out.append(
                    {
                        "type": "content_block_delta",
                        "index": self.index,
                        "delta": {"type": "thinking_delta", "thinking": thought},
                    }
                )
            if delta.get("content"):
                if self.block != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out.append(
                    {
                        "type": "content_block_delta",
                        "index": self.index,
                        "delta": {"type": "text_delta", "text": delta["content"]},
                    }
                )
            for call in delta.get("tool_calls") or ():
                fn = call.get("function") or {}
                if call.get("id"):
                    out += self._open(
                        "tool_use", {"type": "tool_use", "id": call["id"], "name": fn.get("name", ""), "input": {}}
                    )
                if fn.get("arguments"):
                    out.append(
                        {
                            "type": "content_block_delta",
                            "index": self.index,
                            "delta": {"type": "input_json_delta", "partial_json": fn["arguments"]},
                        }
                    )
            if choice.get("finish_reason"):
                self.stop_reason = _FINISH_TO_STOP.get(choice["finish_reason"], "end_turn")
        return out

    def finish(self) -> list[Json]:
        out = self._close()
        usage = self.tokens.to_anthropic()
        out.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                "usage": usage,
            }
        )
        out.append({"type": "message_stop"})
        return out


class MessagesToChatStream:
    """Anthropic stream events in, OpenAI chunks out (the usage chunk is added by the caller)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = "chatcmpl-" + hex_id()[:24]
        self.created = int(time.time())
        self.tool_index = -1
        self.input_usage: Json = {}
        self.output_tokens = 0

    def _chunk(self, delta: Json, finish: str | None = None) -> Json:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    @property
    def tokens(self) -> Tokens:
        return Tokens.from_anthropic({**self.input_usage, "output_tokens": self.output_tokens})

    def feed(self, event: Json) -> list[Json]:
        kind = event.get("type")
        if kind == "message_start":
            self.input_usage = (event.get("message") or {}).get("usage") or {}
            self.output_tokens = count(self.input_usage.get("output_tokens"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.tool_index += 1
                call = {
                    "index": self.tool_index,
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta":
                call = {"index": self.tool_index, "function": {"arguments": delta.get("partial_json", "")}}
                return [self._chunk({"tool_calls": [call]})]
            if delta.get("type") == "thinking_delta":
                return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
            return []
        if kind == "message_delta":
            usage = event.get("usage") or {}
            self.output_tokens = count(usage.get("output_tokens")) or self.output_tokens
            for key in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
                if usage.get(key) is not None:
                    self.input_usage[key] = usage[key]
            stop = (event.get("delta") or {}).get("stop_reason")
            return [self._chunk({}, _STOP_TO_FINISH.get(stop or "", "stop"))]
        return []

    def usage_chunk(self, usage: Json) -> Json:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }
