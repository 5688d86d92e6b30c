"""The built-in mock provider: deterministic answers, token usage counted from the input, streaming,
optional latency and injected failures. The same answers back the stand-alone mock upstream server."""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import orjson

from covey.config import ProviderConfig
from covey.gateway.providers.base import Json, ProviderContext, ProviderError
from covey.gateway.sse import Event


def count_tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: about four characters a token."""
    return math.ceil(len(text) / 4) if text else 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def prompt_text(body: Json) -> str:
    return "\n".join(_text_of(m.get("content")) for m in body.get("messages") or () if isinstance(m, dict))


def _last_user_text(body: Json) -> str:
    for message in reversed(body.get("messages") or ()):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def _answer(body: Json) -> tuple[str, str]:
    """(text, finish_reason), cut at `max_tokens` words."""
    said = " ".join(_last_user_text(body).split()[:12])
    words = f"This is a mock answer from {body.get('model')}. You said: {said}".split()
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and 0 < limit < len(words):
        return " ".join(words[:limit]), "length"
    return " ".join(words), "stop"


def _after_tool_result(body: Json) -> bool:
    messages = body.get("messages") or []
    return bool(messages) and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool"


def _tool_call(body: Json) -> Json | None:
    """The first tool offered is called, unless the conversation just gave a tool's result: then the
    mock answers in text, so an agent's tool loop ends."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if not tools or choice == "none" or (_after_tool_result(body) and choice in (None, "auto")):
        return None
    name = tools[0].get("function", {}).get("name", "tool")
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name", name)
    return {"id": "call_mock_1", "type": "function", "function": {"name": name, "arguments": '{"mock": true}'}}


def _usage(body: Json, completion: str) -> Json:
    prompt = count_tokens(prompt_text(body))
    output = count_tokens(completion)
    return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}


def chat_completion(body: Json) -> Json:
    text, finish = _answer(body)
    message: Json = {"role": "assistant", "content": text}
    call = _tool_call(body)
    if call is not None:
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
        text = call["function"]["name"] + call["function"]["arguments"]
    elif (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
        text = orjson.dumps({"answer": text}).decode()
        message["content"] = text
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(body, text),
    }


def chat_chunks(body: Json) -> list[Json]:
    """The streamed form of `chat_completion`; the usage chunk only when `stream_options.include_usage`."""
    done = chat_completion(body)
    base = {"id": done["id"], "object": "chat.completion.chunk", "created": done["created"], "model": done["model"]}
    message = done["choices"][0]["message"]
    deltas: list[Json] = [{"role": "assistant", "content": ""}]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        deltas.append({"tool_calls": [{"index": 0, **call}]})
    else:
        words = message["content"].split(" ")
        deltas += [{"content": w if i == 0 else " " + w} for i, w in enumerate(words)]
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": done["choices"][0]["finish_reason"]}]}
    )
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": done["usage"]})
    return chunks


def _vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest() * (dimensions // 8 + 1)
    return [round(v / 2**32, 6) for v in struct.unpack(f"<{dimensions}I", digest[: 4 * dimensions])]


def embeddings(body: Json) -> Json:
    given = body.get("input")
    inputs = given if isinstance(given, list) else [given]
    texts = [i if isinstance(i, str) else " ".join(map(str, i)) if isinstance(i, list) else str(i) for i in inputs]
    given_dimensions = body.get("dimensions")
    dimensions = given_dimensions if isinstance(given_dimensions, int) and given_dimensions > 0 else 8
    tokens = sum(count_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": _vector(t, dimensions)} for i, t in enumerate(texts)],
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


class MockProvider:
    """In process, no network. `fail_rate` fails every n-th call (n = 1 / rate), so runs are repeatable."""

    dialect: ClassVar[str] = "openai"

    def __init__(self, name: str, config: ProviderConfig, _context: ProviderContext) -> None:
        self.name = name
        self.latency = config.latency_ms / 1000
        self.fail_every = round(1 / config.fail_rate) if config.fail_rate > 0 else 0
        self.calls = 0

    async def _before_call(self) -> None:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_every and self.calls % self.fail_every == 0:
            raise ProviderError.from_upstream(500, "injected mock failure")

    async def complete(self, body: Json, headers: Mapping[str, str] | None = None) -> Json:
        await self._before_call()
        return chat_completion(body)

    async def stream(self, body: Json, headers: Mapping[str, str] | None = None) -> AsyncIterator[list[Event]]:
        await self._before_call()
        for chunk in chat_chunks(body):
            yield [Event.of(chunk)]

    async def embed(self, body: Json) -> Json:
        await self._before_call()
        return embeddings(body)
