"""Guardrails applied to what passes through the gateway: the request's text before it goes upstream,
the answer's text before the caller sees it, and a stream's text chunk by chunk, holding back only
what could still become a finding, so a mask never splits across chunks and no chunk carries part of
a value. Tool calls are text too: their arguments (JSON text, streamed in pieces as OpenAI's
`function.arguments` and Anthropic's `input_json_delta.partial_json`) and a `tool_use` block's `input`
object, in answers and in the conversation a caller sends back; a mask in JSON text never cuts an
escape sequence or a string's closing quote, so the arguments stay JSON. Counts are kept per
category; the text found is never kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from covey.guardrails.detectors import Finding, find, masked, open_block

# Keys whose string values are text a person or a model wrote, in OpenAI's, Anthropic's and the
# Responses API's shapes (message content, content blocks, tool arguments and results, embeddings input).
TEXT_KEYS = frozenset(("content", "text", "input", "system", "prompt", "instructions", "arguments", "output"))
# Keys whose string value is JSON text (a tool call's arguments); whose object value is a tool's input,
# every string in it text.
JSON_KEYS = frozenset(("arguments", "partial_json"))
TOOL_INPUT_KEYS = frozenset(("input", "arguments"))
# A stream holds back the last `HOLD` characters (the longest finding with spaces in it, a card number
# or an IBAN, fits) and the word being written (a private key until its end line), and sends what is
# before them once at least `RELEASE` characters are ready: the detectors run about once per 32
# characters, not on every small chunk (often a token's worth).
HOLD = 48
MAX_HELD = 16 * 1024
RELEASE = 32


BLOCKED = "blocked by guardrails"


class Blocked(Exception):
    """A finding of a category in block mode: in the request (refused before it goes upstream) or in
    the answer (withheld from the caller). `unsent`: bytes of a stream's text held back when found."""

    def __init__(self, category: str, kind: str, *, answer: bool = False, unsent: int = 0) -> None:
        super().__init__(category)
        self.category = category
        self.unsent = unsent
        found = f"{category} ({kind.lower().replace('_', ' ')}) found"
        self.message = f"Answer {BLOCKED}: {found} in the model's answer" if answer else f"Request {BLOCKED}: {found}"


class Screen:
    """One request's guardrails: the categories to act on, and the hits so far."""

    def __init__(self, modes: Mapping[str, str]) -> None:
        self.categories = frozenset(modes)
        self.blocking = frozenset(c for c, m in modes.items() if m == "block")
        self.hits: Counter[str] = Counter()

    def text(self, value: str, *, blocking: bool = False, json: bool = False, answer: bool = False) -> str:
        findings = find(value, self.categories)
        if json:
            findings = json_safe(value, findings)
        if not findings:
            return value
        self.hits.update(f.category for f in findings)
        if blocking:
            self.check(findings, answer=answer)
        return masked(value, findings)

    def check(self, findings: list[Finding], *, answer: bool, unsent: int = 0) -> None:
        """Raises `Blocked` for the first finding of a category in block mode."""
        for f in findings:
            if f.category in self.blocking:
                raise Blocked(f.category, f.type, answer=answer, unsent=unsent)

    def walk(
        self, value: Any, *, blocking: bool = False, inside: bool = False, every: bool = False, answer: bool = False
    ) -> Any:
        """Masks every text value in a JSON body, in place; returns the value. Strings in lists count
        as text only under a text key (embeddings' `input: [...]`), not `stop: [...]` and the like;
        in a tool's input object (`every`), every string counts."""
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str):
                    if every or k in TEXT_KEYS:
                        value[k] = self.text(v, blocking=blocking, json=k in JSON_KEYS and not every, answer=answer)
                elif isinstance(v, dict | list):
                    tool_input = every or (k in TOOL_INPUT_KEYS and isinstance(v, dict))
                    self.walk(v, blocking=blocking, inside=k in TEXT_KEYS, every=tool_input, answer=answer)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, str):
                    if inside or every:
                        value[i] = self.text(v, blocking=blocking, answer=answer)
                elif isinstance(v, dict | list):
                    self.walk(v, blocking=blocking, inside=inside, every=every, answer=answer)
        return value

    def request(self, body: dict[str, Any]) -> None:
        """Masks the request's text; raises `Blocked` when a category in block mode is found."""
        self.walk(body, blocking=bool(self.blocking))

    def answer(self, body: dict[str, Any]) -> None:
        """Masks a whole answer's text; raises `Blocked` when a category in block mode is found."""
        self.walk(body, blocking=bool(self.blocking), answer=True)

    def stream(self) -> StreamText:
        return StreamText(self)


class _Held:
    __slots__ = ("json", "text")

    def __init__(self, json: bool) -> None:
        self.text = ""
        self.json = json


class StreamText:
    """A stream's text fields, each (block index, field) with its own held-back tail."""

    def __init__(self, guard: Screen) -> None:
        self.guard = guard
        self._held: dict[Any, _Held] = {}

    def feed(self, key: Any, text: str, *, json: bool = False) -> str:
        """The part of the field's text so far that is safe to send, masked; `json` for JSON text."""
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held(json)
        buf = held.text + text
        cut = min(len(buf) - HOLD, _last_word(buf, held.json))
        block = open_block(buf)
        if block is not None:
            cut = min(cut, block)
        if len(buf) > MAX_HELD:
            cut = len(buf) - HOLD
        if cut < RELEASE:
            held.text = buf
            return ""
        findings = find(buf, self.guard.categories)
        if held.json:
            findings = json_safe(buf, findings)
            cut = _outside_escape(buf, cut)
        for f in findings:
            if f.end > cut:
                cut = min(cut, f.start)
        final = [f for f in findings if f.end <= cut]
        held.text = buf[cut:]
        self.guard.hits.update(f.category for f in final)
        if self.guard.blocking:
            self.guard.check(final, answer=True, unsent=len(buf.encode()))
        return masked(buf[:cut], final)

    def flush(self, key: Any) -> str:
        held = self._held.pop(key, None)
        if held is None or not held.text:
            return ""
        try:
            return self.guard.text(held.text, json=held.json, blocking=bool(self.guard.blocking), answer=True)
        except Blocked as exc:
            exc.unsent = len(held.text.encode())
            raise

    def pending(self) -> list[Any]:
        return [k for k, h in self._held.items() if h.text]

    def is_json(self, key: Any) -> bool:
        held = self._held.get(key)
        return held is not None and held.json


def _last_word(text: str, json: bool) -> int:
    """Where the word being written starts (the end, after a space); in JSON text a quote ends a word too."""
    at = len(text)
    while at > 0 and not text[at - 1].isspace() and not (json and text[at - 1] == '"'):
        at -= 1
    return at


def json_safe(text: str, findings: list[Finding]) -> list[Finding]:
    """Findings in JSON text trimmed so a mask leaves the JSON whole: one never starts inside an escape
    sequence (`\\nalice@…` keeps its `\\n`), never ends inside one, and stops before a string's closing
    quote."""
    out = []
    for f in findings:
        start, end = f.start, f.end
        if _escaped(text, start):
            start += 5 if text[start] == "u" else 1
        quote = _closing_quote(text, start, end)
        if quote is not None:
            end = quote
        if _escaped(text, end):  # `end` would split `\\n` from its backslash
            end -= 1
        if start < end:
            out.append(Finding(f.category, f.type, start, end))
    return out


def _outside_escape(text: str, cut: int) -> int:
    """`cut`, or the start of the escape sequence (`\\n`, `\\u00e9`) it would split."""
    for back in range(1, 6):
        at = cut - back
        if at < 0:
            break
        if text[at] == "\\" and not _escaped(text, at):
            return at if back == 1 or text[at + 1] == "u" else cut
    return cut


def _escaped(text: str, at: int) -> bool:
    """Whether the character at `at` follows an unescaped backslash."""
    n = 0
    while at - n - 1 >= 0 and text[at - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _closing_quote(text: str, start: int, end: int) -> int | None:
    for i in range(start, end):
        if text[i] == '"' and not _escaped(text, i):
            return i
    return None


def stream_events(text: StreamText, events: list[dict[str, Any]], dialect: str) -> list[dict[str, Any]]:
    """A relayed stream's events (in the caller's dialect) with their text and tool arguments masked;
    what a field held back comes out before the event that ends its block."""
    out: list[dict[str, Any]] = []
    for event in events:
        if dialect == "openai":
            for choice in event.get("choices") or ():
                if isinstance(choice, dict):
                    _openai_choice(text, choice)
        else:
            kind, key = event.get("type"), event.get("index")
            delta = event.get("delta")
            if kind == "content_block_delta" and isinstance(delta, dict):
                if isinstance(delta.get("text"), str):
                    delta["text"] = text.feed(key, delta["text"])
                elif isinstance(delta.get("partial_json"), str):
                    delta["partial_json"] = text.feed(key, delta["partial_json"], json=True)
            elif kind == "content_block_stop":
                out += _anthropic_rest(key, text)
            elif kind in ("message_delta", "message_stop"):
                out += flush_events(text, dialect, None)
        out.append(event)
    return out


def _openai_choice(text: StreamText, choice: dict[str, Any]) -> None:
    """One choice of an OpenAI chunk: its content and each tool call's arguments fed through; at its
    finish, whatever they held back added to this delta."""
    index = choice.get("index", 0)
    delta = choice.get("delta")
    finished = bool(choice.get("finish_reason"))
    if not isinstance(delta, dict):
        if not finished or not text.pending():
            return
        delta = choice["delta"] = {}
    sent = text.feed(index, delta["content"]) if isinstance(delta.get("content"), str) else ""
    if finished:
        sent += text.flush(index)
    if sent or isinstance(delta.get("content"), str):
        delta["content"] = sent
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                fn["arguments"] = text.feed((index, call.get("index", 0)), fn["arguments"], json=True)
    if finished:
        rest = _openai_calls(text, index)
        if rest:
            delta["tool_calls"] = [*(calls if isinstance(calls, list) else ()), *rest]


def _openai_calls(text: StreamText, index: Any) -> list[dict[str, Any]]:
    """What the choice's tool calls still hold back, as tool-call deltas."""
    rest = []
    for key in text.pending():
        if isinstance(key, tuple) and key[0] == index:
            rest.append({"index": key[1], "function": {"arguments": text.flush(key)}})
    return rest


def flush_events(text: StreamText, dialect: str, last: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Events carrying whatever is still held back, for the end of a stream."""
    out: list[dict[str, Any]] = []
    for key in text.pending():
        if dialect != "openai":
            out += _anthropic_rest(key, text)
            continue
        head = {k: v for k, v in (last or {}).items() if k in ("id", "object", "created", "model")}
        if isinstance(key, tuple):
            delta: dict[str, Any] = {"tool_calls": [{"index": key[1], "function": {"arguments": text.flush(key)}}]}
            index = key[0]
        else:
            delta, index = {"content": text.flush(key)}, key
        out.append({**head, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
    return out


def _anthropic_rest(index: Any, text: StreamText) -> list[dict[str, Any]]:
    json = text.is_json(index)
    value = text.flush(index)
    if not value:
        return []
    delta = {"type": "input_json_delta", "partial_json": value} if json else {"type": "text_delta", "text": value}
    return [{"type": "content_block_delta", "index": index, "delta": delta}]


def counts(hits: Counter[str]) -> dict[str, int] | None:
    return dict(sorted(hits.items())) or None


__all__ = ["BLOCKED", "Blocked", "Finding", "Screen", "StreamText", "counts", "flush_events", "stream_events"]


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
