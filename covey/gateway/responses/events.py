"""Responses events: a chat stream (from any upstream) turned into them, the closing event as the
gateway metered it, and a failed stream as the Responses API reports one."""

from __future__ import annotations

import time
from typing import Any

import orjson

from covey.gateway.bridges import StreamConverter
from covey.gateway.responses.answer import call_item, envelope, finished, message_item, usage_of
from covey.gateway.responses.request import Front, new_id
from covey.kit.error_handlers import error_body
from covey.pricing.tokens import Tokens

Json = dict[str, Any]


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
        self.response = envelope(front, model=model, created=int(time.time()))
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
            final = call_item(item["call_id"], item["name"], opened.text, self.front)
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
                    _, opened = self._open({"type": "reasoning", "id": new_id("rs"), "summary": []})
                    out += opened
                assert self.current is not None
                self.current.text += thought
                ids = {"item_id": self.current.item["id"], "output_index": self.current.index}
                out.append(self._event("response.reasoning_summary_text.delta", **ids, summary_index=0, delta=thought))
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self.current is None or self.current.item["type"] != "message":
                    _, opened = self._open(message_item("", status="in_progress") | {"content": []})
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
                    item = call_item(str(call.get("id") or ""), name, "", self.front, status="in_progress")
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
        response["usage"] = usage_of(self.inner.tokens)
        finished(response, self.finish_reason)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        out.append(self._event(kind, response=response))
        return out


def settle(events: list[Json], tokens: Tokens, cost: float, *, cut_at_cap: bool) -> None:
    """The closing event as the gateway metered the answer: its usage (what was charged) with Requesty's
    `usage.cost`, and `incomplete` when the stream was ended at its paid output cap."""
    for event in events:
        response = event.get("response") if event.get("type") in CLOSING else None
        if not isinstance(response, dict):
            continue
        response["usage"] = {**usage_of(tokens), "cost": cost}
        if cut_at_cap:
            event["type"] = "response.incomplete"
            finished(response, "length")


CLOSING = ("response.completed", "response.incomplete")


def closing_response(events: list[Json]) -> Json | None:
    """The whole Response a stream's closing event carries."""
    for event in events:
        response = event.get("response")
        if event.get("type") in CLOSING and isinstance(response, dict):
            return response
    return None


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
            "id": new_id("resp"),
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
