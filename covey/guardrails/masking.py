"""Guardrails applied to what passes through the gateway: the request's text before it goes upstream,
the answer's text before the caller sees it, and a stream's text chunk by chunk, holding back only
what could still become a finding, so a mask never splits across chunks and no chunk carries part of
a value. Counts are kept per category; the text found is never kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from covey.guardrails.detectors import Finding, find, masked, open_block

# Keys whose string values are text a person or a model wrote, in OpenAI's, Anthropic's and the
# Responses API's shapes (message content, content blocks, tool arguments and results, embeddings input).
TEXT_KEYS = frozenset(("content", "text", "input", "system", "prompt", "instructions", "arguments", "output"))
# A stream holds back this many characters at most (the longest finding with spaces in it, a card
# number or an IBAN, fits), plus the word being written; a private key until its end line.
HOLD = 48
MAX_HELD = 16 * 1024


class Blocked(Exception):
    def __init__(self, category: str, kind: str) -> None:
        super().__init__(category)
        self.category = category
        self.message = f"Request blocked by guardrails: {category} ({kind.lower().replace('_', ' ')}) found"


class Screen:
    """One request's guardrails: the categories to act on, and the hits so far."""

    def __init__(self, modes: Mapping[str, str]) -> None:
        self.categories = frozenset(modes)
        self.blocking = frozenset(c for c, m in modes.items() if m == "block")
        self.hits: Counter[str] = Counter()

    def text(self, value: str, *, blocking: bool = False) -> str:
        findings = find(value, self.categories)
        if not findings:
            return value
        self.hits.update(f.category for f in findings)
        if blocking:
            for f in findings:
                if f.category in self.blocking:
                    raise Blocked(f.category, f.type)
        return masked(value, findings)

    def walk(self, value: Any, *, blocking: bool = False, inside: bool = False) -> Any:
        """Masks every text value in a JSON body, in place; returns the value. Strings in lists count
        as text only under a text key (embeddings' `input: [...]`), not `stop: [...]` and the like."""
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str):
                    if k in TEXT_KEYS:
                        value[k] = self.text(v, blocking=blocking)
                elif isinstance(v, dict | list):
                    self.walk(v, blocking=blocking, inside=k in TEXT_KEYS)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, str):
                    if inside:
                        value[i] = self.text(v, blocking=blocking)
                elif isinstance(v, dict | list):
                    self.walk(v, blocking=blocking, inside=inside)
        return value

    def request(self, body: dict[str, Any]) -> None:
        """Masks the request's text; raises `Blocked` when a category in block mode is found."""
        self.walk(body, blocking=bool(self.blocking))

    def stream(self) -> StreamText:
        return StreamText(self)


class _Held:
    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""


class StreamText:
    """A stream's text fields, each (block index, field) with its own held-back tail."""

    def __init__(self, guard: Screen) -> None:
        self.guard = guard
        self._held: dict[Any, _Held] = {}

    def feed(self, key: Any, text: str) -> str:
        """The part of the field's text so far that is safe to send, masked."""
        held = self._held.setdefault(key, _Held())
        buf = held.text + text
        cut = len(buf) - HOLD
        word = len(buf) - len(buf.split()[-1]) if buf.split() and not buf[-1].isspace() else len(buf)
        cut = min(cut, word)
        block = open_block(buf)
        if block is not None:
            cut = min(cut, block)
        if len(buf) > MAX_HELD:
            cut = len(buf) - HOLD
        if cut <= 0:
            held.text = buf
            return ""
        findings = find(buf, self.guard.categories)
        for f in findings:
            if f.end > cut:
                cut = min(cut, f.start)
        final = [f for f in findings if f.end <= cut]
        held.text = buf[cut:]
        self.guard.hits.update(f.category for f in final)
        return masked(buf[:cut], final)

    def flush(self, key: Any) -> str:
        held = self._held.pop(key, None)
        if held is None or not held.text:
            return ""
        return self.guard.text(held.text)

    def pending(self) -> list[Any]:
        return [k for k, h in self._held.items() if h.text]


def stream_events(text: StreamText, events: list[dict[str, Any]], dialect: str) -> list[dict[str, Any]]:
    """A relayed stream's events (in the caller's dialect) with their text masked; what a field held
    back comes out before the event that ends its block."""
    out: list[dict[str, Any]] = []
    for event in events:
        if dialect == "openai":
            for choice in event.get("choices") or ():
                if not isinstance(choice, dict):
                    continue
                key = choice.get("index", 0)
                delta = choice.get("delta")
                sent = ""
                if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                    sent = text.feed(key, delta["content"])
                if choice.get("finish_reason"):
                    sent += text.flush(key)
                if isinstance(delta, dict) and (sent or isinstance(delta.get("content"), str)):
                    delta["content"] = sent
        else:
            kind, key = event.get("type"), event.get("index")
            delta = event.get("delta")
            if kind == "content_block_delta" and isinstance(delta, dict) and isinstance(delta.get("text"), str):
                delta["text"] = text.feed(key, delta["text"])
            elif kind == "content_block_stop":
                out += _anthropic_text(key, text.flush(key))
            elif kind in ("message_delta", "message_stop"):
                out += flush_events(text, dialect, None)
        out.append(event)
    return out


def flush_events(text: StreamText, dialect: str, last: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Events carrying whatever is still held back, for the end of a stream."""
    out: list[dict[str, Any]] = []
    for key in text.pending():
        rest = text.flush(key)
        if dialect == "openai":
            head = {k: v for k, v in (last or {}).items() if k in ("id", "object", "created", "model")}
            out.append({**head, "choices": [{"index": key, "delta": {"content": rest}, "finish_reason": None}]})
        else:
            out += _anthropic_text(key, rest)
    return out


def _anthropic_text(index: Any, value: str) -> list[dict[str, Any]]:
    if not value:
        return []
    return [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": value}}]


def counts(hits: Counter[str]) -> dict[str, int] | None:
    return dict(sorted(hits.items())) or None


__all__ = ["Blocked", "Finding", "Screen", "StreamText", "counts", "flush_events", "stream_events"]


class MaskedStream:
    """A stream converter whose events come out with their text masked (wraps any `StreamConverter`)."""

    def __init__(self, inner: Any, guard: Screen, dialect: str) -> None:
        self.inner = inner
        self.text = guard.stream()
        self.dialect = dialect
        self._last: dict[str, Any] | None = None

    @property
    def tokens(self) -> Any:
        return self.inner.tokens

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        out = stream_events(self.text, self.inner.feed(event), self.dialect)
        if out:
            self._last = out[-1]
        return out

    def finish(self) -> list[dict[str, Any]]:
        closing = stream_events(self.text, self.inner.finish(), self.dialect)
        rest = flush_events(self.text, self.dialect, self._last)
        if self.dialect == "openai" and closing and closing[-1].get("choices"):
            return closing[:-1] + rest + closing[-1:]
        return rest + closing if self.dialect == "openai" else closing + rest
