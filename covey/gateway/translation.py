"""OpenAI chat completions ↔ Anthropic messages: requests, answers and stream events, both ways."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from covey.pricing.tokens import Tokens, count

Json = dict[str, Any]

_STOP_TO_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
_FINISH_TO_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "end_turn"}
DEFAULT_MAX_TOKENS = 4096


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
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
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
        if choice == "required":
            out["tool_choice"] = {"type": "any"}
        elif isinstance(choice, dict):
            out["tool_choice"] = {"type": "tool", "name": choice.get("function", {}).get("name", "")}
        elif choice == "none":
            out.pop("tools")
    if body.get("user"):
        out["metadata"] = {"user_id": body["user"]}
    return out


def _block_to_part(block: Json) -> Json | None:
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
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
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
    user = (body.get("metadata") or {}).get("user_id")
    if user:
        out["user"] = user
    return out


# ---- answers --------------------------------------------------------------------------------------------


def messages_response_to_chat(resp: Json) -> Json:
    text = "".join(b.get("text", "") for b in resp.get("content") or () if b.get("type") == "text")
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
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-" + str(resp.get("id", uuid.uuid4().hex)),
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
        "id": "msg_" + str(resp.get("id", uuid.uuid4().hex)),
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
        self.block: str | None = None  # "text" | "tool_use"
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
                        "id": "msg_" + str(chunk.get("id", uuid.uuid4().hex)),
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
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
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
