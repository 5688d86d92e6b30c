"""A stand-alone mock LLM upstream over real HTTP, speaking OpenAI's and Anthropic's APIs, with the
mock provider's deterministic answers. Tests and the benchmark point an `openai`- or `anthropic`-kind
provider at it. It can be told, per model, to fail with a status or to be slow:

    POST /_mock/behaviour {"model": "m", "status": 500, "times": 1, "delay_ms": 0,
                           "break_after": null, "chunk_delay_ms": 0,
                           "writes": null, "ignore_cap": false, "usage": null, "reply": null,
                           "stream_chunks": null, "chunk_bytes": null, "arguments": null}
    GET  /_mock/calls     → {"m": 3, ...}
    GET  /_mock/peak      → {"m": 2, ...}: the most calls of a model in flight at once
    GET  /_mock/last      → the last model call's path, headers and body, and the stream it sent
    GET  /_mock/sent      → {"m": bytes of stream events sent so far, ...}
    POST /_mock/reset

On `/v1/responses` it serves OpenAI's Responses API (plain and streamed), answering the chat
request the Responses request means; `usage` there is in the Responses shape.

On `/v1/messages` it caches prompts as Anthropic does: a request's prefix up to each `cache_control`
breakpoint is written to its cache the first time and read from it afterwards, and the usage says so
(`cache_creation_input_tokens`, `cache_read_input_tokens`).

With `writes`, the model writes that many tokens (four bytes each, `n` answers) unless the request's
`max_tokens`/`max_completion_tokens` stops it first — or always, with `ignore_cap`; `usage` replaces the
usage it reports (to play an upstream that reports nonsense).

With `arguments`, a request that offers tools gets a call of the first one with these arguments (JSON
text, streamed five characters a chunk).

With `stream_chunks` (and `chunk_bytes`), a stream carries its text in that many content chunks
(of that size). A stream stops when its caller leaves.

Run alone: `python -m covey.gateway.mock_upstream --port 9000`; `--latency-ms`, `--stream-chunks` and
`--chunk-delay-ms` set the behaviour of every model that was given none.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from covey.gateway import responses, sse, translation
from covey.gateway.asgi import end_body, send_chunk, send_json, start_sse
from covey.gateway.bridges import OpenAIPassthrough
from covey.gateway.providers import mock

Json = dict[str, Any]


@dataclass
class Behaviour:
    status: int = 200
    times: int | None = None  # None: every call
    delay_ms: float = 0.0
    # Streams only: after this many chunks, send an error event instead of the rest.
    break_after: int | None = None
    # Streams only: a pause before each chunk.
    chunk_delay_ms: float = 0.0
    # Tokens the model writes when nothing stops it; whether it heeds the request's cap; usage it reports.
    writes: int | None = None
    ignore_cap: bool = False
    usage: Json | None = None
    # Answer with this text instead of the mock's own (streamed five characters a chunk).
    reply: str | None = None
    # Call the first tool offered with these arguments (streamed five characters a chunk).
    arguments: str | None = None
    # Streams only: the answer's text in this many content chunks (its words repeated as needed),
    # each padded to `chunk_bytes`.
    stream_chunks: int | None = None
    chunk_bytes: int | None = None


class MockUpstream:
    def __init__(self, default: Behaviour | None = None) -> None:
        self.default = default
        self.behaviours: dict[str, Behaviour] = {}
        self.calls: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.prompt_cache: set[bytes] = set()
        self.last: Json = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        data: Json = orjson.loads(body) if body else {}
        if path == "/_mock/behaviour":
            self.behaviours[data["model"]] = Behaviour(
                status=data.get("status", 200),
                times=data.get("times"),
                delay_ms=data.get("delay_ms", 0),
                break_after=data.get("break_after"),
                chunk_delay_ms=data.get("chunk_delay_ms", 0),
                writes=data.get("writes"),
                ignore_cap=data.get("ignore_cap", False),
                usage=data.get("usage"),
                reply=data.get("reply"),
                arguments=data.get("arguments"),
                stream_chunks=data.get("stream_chunks"),
                chunk_bytes=data.get("chunk_bytes"),
            )
            await send_json(send, 200, b"{}")
        elif path == "/_mock/reset":
            self.behaviours.clear()
            self.calls.clear()
            self.peak.clear()
            self.prompt_cache.clear()
            self.sent.clear()
            await send_json(send, 200, b"{}")
        elif path == "/_mock/calls":
            await send_json(send, 200, orjson.dumps(dict(self.calls)))
        elif path == "/_mock/sent":
            await send_json(send, 200, orjson.dumps(dict(self.sent)))
        elif path == "/_mock/peak":
            await send_json(send, 200, orjson.dumps(dict(self.peak)))
        elif path == "/_mock/last":
            await send_json(send, 200, orjson.dumps(self.last))
        elif path.endswith("/models"):
            await send_json(send, 200, b'{"object":"list","data":[]}')
        elif path.endswith(("/chat/completions", "/messages", "/embeddings", "/responses")):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.last = {"path": path, "headers": headers, "body": data}
            model = str(data.get("model"))
            self.in_flight[model] += 1
            self.peak[model] = max(self.peak[model], self.in_flight[model])
            try:
                await self._model_call(path, data, receive, send)
            finally:
                self.in_flight[model] -= 1
        else:
            await send_json(send, 404, b'{"error":{"message":"not found"}}')

    async def _model_call(self, path: str, data: Json, receive: Receive, send: Send) -> None:
        model = str(data.get("model"))
        self.calls[model] += 1
        behaviour = self.behaviours.get(model, self.default)
        if behaviour is not None:
            if behaviour.delay_ms:
                await asyncio.sleep(behaviour.delay_ms / 1000)
            if behaviour.status != 200 and (behaviour.times is None or behaviour.times > 0):
                if behaviour.times is not None:
                    behaviour.times -= 1
                error = {"error": {"message": f"mock upstream says {behaviour.status}", "type": "mock"}}
                await send_json(send, behaviour.status, orjson.dumps(error))
                return
        reply = behaviour.reply if behaviour is not None else None
        arguments = behaviour.arguments if behaviour is not None else None
        if path.endswith("/responses"):
            await self._responses(data, receive, send, behaviour)
        elif behaviour is not None and behaviour.writes is not None and not path.endswith("/embeddings"):
            await _verbose(path, data, behaviour, send)
        elif path.endswith("/embeddings"):
            await send_json(send, 200, orjson.dumps(mock.embeddings(data)))
        elif path.endswith("/messages"):
            await self._anthropic(data, receive, send, behaviour)
        elif data.get("stream"):
            chunks: Iterable[Json] = _chunks(data, reply, arguments)
            if behaviour is not None and (behaviour.stream_chunks or behaviour.chunk_bytes):
                chunks = _stretched(_chunks(data, reply), behaviour.stream_chunks, behaviour.chunk_bytes)
            frames = (b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks)
            await self._send_stream(model, itertools.chain(frames, [b"data: [DONE]\n\n"]), receive, send, behaviour)
        else:
            await send_json(send, 200, orjson.dumps(_completion(data, reply, arguments)))

    def _cache(self, data: Json, usage: Json) -> None:
        """Cache reads and writes for the request's breakpoints, taken out of `input_tokens`."""
        prefixes = _cache_prefixes(data)
        if not prefixes:
            return
        read = max((tokens for key, tokens in prefixes if key in self.prompt_cache), default=0)
        longest = prefixes[-1][1]
        self.prompt_cache.update(key for key, _ in prefixes)
        total = max(int(usage.get("input_tokens") or 0), longest)
        usage["cache_read_input_tokens"] = read
        usage["cache_creation_input_tokens"] = longest - read
        usage["input_tokens"] = total - longest

    async def _send_stream(
        self, model: str, frames: Iterable[bytes], receive: Receive, send: Send, behaviour: Behaviour | None
    ) -> None:
        """Each frame in a write of its own, as an upstream generating them would, until the caller leaves.
        `/_mock/last` shows the frames written (`stream`) and how the stream ended (`ended`): "complete",
        or "caller left" when the caller hung up first."""
        sent: list[str] = []
        last = self.last
        last["stream"] = sent
        gone = asyncio.get_running_loop().create_task(_disconnected(receive))
        try:
            await start_sse(send)
            for n, frame in enumerate(frames):
                if behaviour is not None and behaviour.break_after is not None and n >= behaviour.break_after:
                    error = {"error": {"message": "mock upstream broke the stream", "type": "mock"}}
                    await send_chunk(send, b"data: " + orjson.dumps(error) + b"\n\n")
                    break
                if behaviour is not None and behaviour.chunk_delay_ms:
                    await asyncio.sleep(behaviour.chunk_delay_ms / 1000)
                if gone.done():
                    last["ended"] = "caller left"
                    return
                await send_chunk(send, frame)
                self.sent[model] += len(frame)
                if len(sent) < 1000:
                    sent.append(frame.decode())
            await end_body(send)
            last["ended"] = "complete"
        finally:
            gone.cancel()

    async def _anthropic(self, data: Json, receive: Receive, send: Send, behaviour: Behaviour | None) -> None:
        reply = behaviour.reply if behaviour is not None else None
        arguments = behaviour.arguments if behaviour is not None else None
        chat = translation.messages_request_to_chat(data)
        if not data.get("stream"):
            answer = translation.chat_response_to_messages(_completion(chat, reply, arguments))
            self._cache(data, answer["usage"])
            await send_json(send, 200, orjson.dumps(answer))
            return
        converter = translation.ChatToMessagesStream(str(data.get("model")))
        events: list[Json] = []
        chunks: Iterable[Json] = _chunks({**chat, "stream_options": {"include_usage": True}}, reply, arguments)
        if behaviour is not None and (behaviour.stream_chunks or behaviour.chunk_bytes):
            chunks = _stretched(list(chunks), behaviour.stream_chunks, behaviour.chunk_bytes)
        for chunk in chunks:
            events += converter.feed(chunk)
        events += converter.finish()
        # Anthropic reports input tokens at the start and output tokens at the end.
        usage = events[-2]["usage"]
        events[0]["message"]["usage"] = {"input_tokens": usage["input_tokens"], "output_tokens": 1}
        self._cache(data, events[0]["message"]["usage"])
        frames = [f"event: {event['type']}\ndata: ".encode() + orjson.dumps(event) + b"\n\n" for event in events]
        await self._send_stream(str(data.get("model")), frames, receive, send, behaviour)

    async def _responses(self, data: Json, receive: Receive, send: Send, behaviour: Behaviour | None) -> None:
        """OpenAI's Responses API: the request read as the chat request it means, answered as chat is,
        and the answer (or its stream) turned back into a Response (or its events)."""
        # What chat cannot carry (files, built-in tools) it reads as text, as a real upstream would read it.
        chat, front = responses.request_to_chat(data, untranslatable="read as text")
        model = str(data.get("model"))
        if not data.get("stream"):
            answer = responses.chat_to_response(_responses_completion(chat, behaviour), front)
            answer["model"] = model
            if behaviour is not None and behaviour.usage is not None:
                answer["usage"] = behaviour.usage
            await send_json(send, 200, orjson.dumps(answer))
            return
        chunks = _responses_chunks({**chat, "stream_options": {"include_usage": True}}, behaviour)
        converter = responses.ChatToResponsesStream(OpenAIPassthrough(model, chat), model=model, front=front)
        events: list[Json] = []
        for chunk in chunks:
            events += converter.feed(chunk)
        events += converter.finish()
        if behaviour is not None and behaviour.usage is not None:
            events[-1]["response"]["usage"] = behaviour.usage
        frames = [sse.frame(event, event["type"]) for event in events]
        await self._send_stream(model, frames, receive, send, behaviour)


def _responses_completion(chat: Json, behaviour: Behaviour | None) -> Json:
    if behaviour is None or behaviour.writes is None:
        return _completion(chat, behaviour.reply if behaviour is not None else None)
    tokens, finish = _written(chat, behaviour)
    message = {"role": "assistant", "content": WORD * tokens}
    prompt = mock.count_tokens(mock.prompt_text(chat))
    usage = {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens}
    return {
        "id": "chatcmpl-verbose",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }


def _responses_chunks(chat: Json, behaviour: Behaviour | None) -> list[Json]:
    if behaviour is None or behaviour.writes is None:
        chunks = _chunks(chat, behaviour.reply if behaviour is not None else None)
        if behaviour is not None and (behaviour.stream_chunks or behaviour.chunk_bytes):
            chunks = list(_stretched(chunks, behaviour.stream_chunks, behaviour.chunk_bytes))
        return chunks
    tokens, finish = _written(chat, behaviour)
    base: Json = {"id": "chatcmpl-verbose", "object": "chat.completion.chunk", "created": 0, "model": chat["model"]}
    out = [
        {**base, "choices": [{"index": 0, "delta": {"content": WORD * min(WORDS_PER_CHUNK, tokens - at)}}]}
        for at in range(0, tokens, WORDS_PER_CHUNK)
    ]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    prompt = mock.count_tokens(mock.prompt_text(chat))
    usage = {"prompt_tokens": prompt, "completion_tokens": tokens, "total_tokens": prompt + tokens}
    out.append({**base, "choices": [], "usage": usage})
    return out


def _written(chat: Json, behaviour: Behaviour) -> tuple[int, str]:
    """The tokens the verbose model writes for a chat request, and why it stopped."""
    assert behaviour.writes is not None
    cap = chat.get("max_completion_tokens") or chat.get("max_tokens")
    tokens = behaviour.writes
    if isinstance(cap, int) and not behaviour.ignore_cap:
        tokens = min(tokens, cap)
    return tokens, "length" if tokens < behaviour.writes else "stop"


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _stretched(chunks: list[Json], count: int | None, size: int | None) -> Iterator[Json]:
    """The stream with its text in `count` content chunks of about `size` bytes each; usage to match."""
    head, *content, finish = [c for c in chunks if c["choices"]]
    usage = [c for c in chunks if not c["choices"]]
    words = [c["choices"][0]["delta"].get("content") or "" for c in content] or [" mock"]
    yield head
    text = 0
    for n in range(count or len(words)):
        piece = words[n % len(words)]
        if size:
            piece = (piece * (size // max(len(piece), 1) + 1))[:size]
        text += len(piece)
        yield {**head, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
    yield finish
    for chunk in usage:
        prompt = chunk["usage"]["prompt_tokens"]
        output = mock.count_tokens("x" * text)
        totals = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output}
        yield {**chunk, "usage": totals}


def _cache_prefixes(data: Json) -> list[tuple[bytes, int]]:
    """(the prefix up to a breakpoint, without the breakpoints themselves; its tokens) for each
    `cache_control` in the order Anthropic reads a request: tools, system, messages."""
    seen: list[Any] = []
    out: list[tuple[bytes, int]] = []

    def visit(value: Any) -> None:
        seen.append({k: v for k, v in value.items() if k != "cache_control"} if isinstance(value, dict) else value)
        if isinstance(value, dict) and "cache_control" in value:
            text = orjson.dumps(seen, option=orjson.OPT_SORT_KEYS)
            out.append((text, mock.count_tokens(text.decode())))

    for tool in data.get("tools") or ():
        visit(tool)
    system = data.get("system")
    for block in system if isinstance(system, list) else [system] if system else ():
        visit(block)
    for message in data.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        seen.append(message.get("role") if isinstance(message, dict) else None)
        for block in content if isinstance(content, list) else [content]:
            visit(block)
    return out


WORD = "tok "  # one token of the verbose model's text: four bytes
WORDS_PER_CHUNK = 64


async def _verbose(path: str, data: Json, behaviour: Behaviour, send: Send) -> None:
    """A model that writes as much as it is allowed to: `writes` tokens per answer, or the request's cap."""
    assert behaviour.writes is not None
    anthropic = path.endswith("/messages")
    cap = data.get("max_tokens") if anthropic else data.get("max_completion_tokens") or data.get("max_tokens")
    n = 1 if anthropic else int(data.get("n") or 1)
    tokens = behaviour.writes
    if isinstance(cap, int) and not behaviour.ignore_cap:
        tokens = min(tokens, cap)
    chat = translation.messages_request_to_chat(data) if anthropic else data
    prompt = mock.count_tokens(mock.prompt_text(chat))
    usage = behaviour.usage or {"prompt_tokens": prompt, "completion_tokens": tokens * n}
    finish = "length" if tokens < behaviour.writes else "stop"
    model = str(data.get("model"))
    if not data.get("stream"):
        choices = [
            {"index": i, "message": {"role": "assistant", "content": WORD * tokens}, "finish_reason": finish}
            for i in range(n)
        ]
        answer: Json = {"id": "chatcmpl-verbose", "object": "chat.completion", "created": 0, "model": model}
        answer |= {"choices": choices, "usage": usage}
        if anthropic:
            answer = translation.chat_response_to_messages(answer)
            if behaviour.usage is not None:
                answer["usage"] = behaviour.usage
        await send_json(send, 200, orjson.dumps(answer))
        return
    await start_sse(send)
    pieces = [WORD * min(WORDS_PER_CHUNK, tokens - at) for at in range(0, tokens, WORDS_PER_CHUNK)]
    if anthropic:
        message: Json = {"id": "msg_verbose", "type": "message", "role": "assistant", "model": model, "content": []}
        message["usage"] = {"input_tokens": prompt, "output_tokens": 1}
        start: Json = {"type": "message_start", "message": message}
        events: list[Json] = [start, {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}]
        events += [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces
        ]
        stop = "max_tokens" if finish == "length" else "end_turn"
        events += [
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop},
                "usage": behaviour.usage or {"output_tokens": tokens},
            },
            {"type": "message_stop"},
        ]
        for event in events:
            await send_chunk(send, f"event: {event['type']}\ndata: ".encode() + orjson.dumps(event) + b"\n\n")
        await end_body(send)
        return
    base: Json = {"id": "chatcmpl-verbose", "object": "chat.completion.chunk", "created": 0, "model": model}
    for piece in pieces:
        choices = [{"index": i, "delta": {"content": piece}, "finish_reason": None} for i in range(n)]
        await send_chunk(send, b"data: " + orjson.dumps({**base, "choices": choices}) + b"\n\n")
    done = [{"index": i, "delta": {}, "finish_reason": finish} for i in range(n)]
    await send_chunk(send, b"data: " + orjson.dumps({**base, "choices": done}) + b"\n\n")
    if (data.get("stream_options") or {}).get("include_usage"):
        await send_chunk(send, b"data: " + orjson.dumps({**base, "choices": [], "usage": usage}) + b"\n\n")
    await send_chunk(send, b"data: [DONE]\n\n")
    await end_body(send)


def _completion(body: Json, reply: str | None, arguments: str | None = None) -> Json:
    done = mock.chat_completion(body)
    message = done["choices"][0]["message"]
    if arguments is not None and message.get("tool_calls"):
        message["tool_calls"][0]["function"]["arguments"] = arguments
    elif reply is not None:
        done["choices"][0]["message"] = {"role": "assistant", "content": reply}
        prompt = done["usage"]["prompt_tokens"]
        done["usage"] = {"prompt_tokens": prompt, "completion_tokens": mock.count_tokens(reply)}
        done["usage"]["total_tokens"] = prompt + done["usage"]["completion_tokens"]
    return done


def _chunks(body: Json, reply: str | None, arguments: str | None = None) -> list[Json]:
    chunks = mock.chat_chunks(body)
    done = _completion(body, reply, arguments)
    message = done["choices"][0]["message"]
    if arguments is not None and message.get("tool_calls"):
        call = message["tool_calls"][0]
        first = {"tool_calls": [{"index": 0, **call, "function": {"name": call["function"]["name"], "arguments": ""}}]}
        pieces = [{"role": "assistant", "content": None}, first]
        pieces += [
            {"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 5]}}]}
            for i in range(0, len(arguments), 5)
        ]
        finish = "tool_calls"
    elif reply is not None:
        pieces = [{"role": "assistant", "content": ""}]
        pieces += [{"content": reply[i : i + 5]} for i in range(0, len(reply), 5)]
        finish = "stop"
    else:
        return chunks
    base = {k: chunks[0][k] for k in ("id", "object", "created", "model")}
    out = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in pieces]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        out.append({**base, "choices": [], "usage": done["usage"]})
    return out


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--latency-ms", type=float, default=0, help="wait this long before answering")
    parser.add_argument("--stream-chunks", type=int, help="stream answers in this many content chunks")
    parser.add_argument("--chunk-delay-ms", type=float, default=0, help="wait this long before each chunk")
    args = parser.parse_args()
    default = Behaviour(delay_ms=args.latency_ms, chunk_delay_ms=args.chunk_delay_ms, stream_chunks=args.stream_chunks)
    uvicorn.run(
        MockUpstream(default),
        host=args.host,
        port=args.port,
        backlog=8192,  # the stream benchmark opens thousands of connections at once
        log_level="warning",
        loop="uvloop",
        http="httptools",
        access_log=False,
    )


if __name__ == "__main__":
    main()
