"""Server-sent events as an upstream sends them: each event keeps the bytes it arrived as, so a relay
can pass it on untouched, beside its `data` parsed once (in C, by orjson) for what the gateway reads."""

from __future__ import annotations

from typing import Any

import orjson

Json = dict[str, Any]
DONE = b"[DONE]"


class MalformedEvent(Exception):
    """An event whose data is not a JSON object."""


class Event:
    """One event: `frame` is its bytes on the wire, blank line included; `data` its parsed payload."""

    __slots__ = ("data", "frame")

    def __init__(self, frame: bytes, data: Json) -> None:
        self.frame = frame
        self.data = data

    @classmethod
    def of(cls, data: Json, name: str | None = None) -> Event:
        """An event made here rather than received (the in-process mock, translations)."""
        return cls(frame(data, name), data)

    def __repr__(self) -> str:
        return f"Event({self.frame!r})"


def frame(data: Json, name: str | None = None) -> bytes:
    if name is None:
        return b"data: " + orjson.dumps(data) + b"\n\n"
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class Parser:
    """Bytes in as they arrive, whole events out. `done` is set by OpenAI's `data: [DONE]`; comments
    (keep-alives) and events without data are dropped."""

    __slots__ = ("_rest", "done")

    def __init__(self) -> None:
        self._rest = b""
        self.done = False

    def feed(self, chunk: bytes) -> list[Event]:
        buffer = self._rest + chunk if self._rest else chunk
        if b"\r" in buffer:  # CRLF line ends (a lone CR at the end waits for its LF)
            buffer = buffer.replace(b"\r\n", b"\n")
        *frames, self._rest = buffer.split(b"\n\n")
        events: list[Event] = []
        for raw in frames:
            event = self._event(raw)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[Event]:
        """The last event, when the answer ended without the blank line that closes it."""
        rest, self._rest = self._rest, b""
        event = self._event(rest.rstrip(b"\n")) if rest.strip() else None
        return [event] if event is not None else []

    def _event(self, raw: bytes) -> Event | None:
        if self.done:
            return None
        payload = _one_data_line(raw)
        if payload is None:
            lines = [line for line in raw.split(b"\n") if line.startswith(b"data:")]
            if not lines:
                return None
            payload = b"\n".join(line[6:] if line.startswith(b"data: ") else line[5:] for line in lines)
        payload = payload.strip()
        if payload == DONE:
            self.done = True
            return None
        if not payload:
            return None
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise MalformedEvent from None
        if not isinstance(data, dict):
            raise MalformedEvent
        return Event(raw + b"\n\n", data)


def _one_data_line(raw: bytes) -> bytes | None:
    """The payload of the usual shapes, read without splitting the event into lines: one data line
    (OpenAI), or an event line then one data line (Anthropic); None for any other shape."""
    if raw.startswith(b"event: "):
        end = raw.find(b"\n")
        if end < 0 or not raw.startswith(b"data: ", end + 1) or raw.find(b"\n", end + 1) >= 0:
            return None
        return raw[end + 7 :]
    if raw.startswith(b"data: ") and b"\n" not in raw:
        return raw[6:]
    return None
