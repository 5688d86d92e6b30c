"""Masking JSON text (tool arguments) whole or in pieces of any size: the result is still JSON, holds
none of the values, and each placeholder comes out whole in one piece."""

from __future__ import annotations

import random

import orjson
import pytest

from covey.guardrails.detectors import CATEGORIES_ALL, find
from covey.guardrails.masking import Screen
from tests.guardrails.corpus import NEGATIVES, POSITIVES

EMAIL = "alice.smith@example.com"
CARD = "4111 1111 1111 1111"
KEY = "sk-ant-" + "Q1w2E3r4T5y6U7i8O9p0" * 2
VALUE = {
    "to": EMAIL,
    "escaped": f"line\n{EMAIL}\t{CARD}",
    "quoted": f'"{EMAIL}"',
    "unicode": f"\u00e9{EMAIL}",
    "list": [CARD, {"deep": f"token {KEY}"}],
    "dsn": "postgres://app:s3cret@db.internal:5432/app",
}
WANT = {
    "to": "[EMAIL REDACTED]",
    "escaped": "line\n[EMAIL REDACTED]\t[CARD NUMBER REDACTED]",
    "quoted": '"[EMAIL REDACTED]"',
    "unicode": "\u00e9[EMAIL REDACTED]",
    "list": ["[CARD NUMBER REDACTED]", {"deep": "token [API KEY REDACTED]"}],
    "dsn": "[CONNECTION STRING REDACTED]",
}
ALL = {"pii": "mask", "secrets": "mask", "financial": "mask"}


@pytest.mark.parametrize("ascii_only", [False, True])
def test_whole_json_text_stays_json(ascii_only: bool) -> None:
    import json

    text = json.dumps(VALUE, ensure_ascii=ascii_only)
    assert orjson.loads(Screen(ALL).text(text, json=True)) == WANT


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 1000])
def test_json_text_in_pieces_stays_json_and_masks_whole(size: int) -> None:
    text = orjson.dumps(VALUE).decode()
    stream = Screen(ALL).stream()
    out = [stream.feed("args", text[i : i + size], json=True) for i in range(0, len(text), size)]
    out.append(stream.flush("args"))
    assert orjson.loads("".join(out)) == WANT
    for placeholder in ("[EMAIL REDACTED]", "[CARD NUMBER REDACTED]", "[API KEY REDACTED]"):
        assert any(placeholder in piece for piece in out)


def test_a_tool_input_object_has_every_string_masked() -> None:
    screen = Screen(ALL)
    body = {
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "send", "input": orjson.loads(orjson.dumps(VALUE))}]
    }
    screen.walk(body)
    assert body["content"][0]["input"] == WANT
    assert body["content"][0]["id"] == "toolu_1"
    assert screen.hits == {"pii": 4, "financial": 2, "secrets": 2}


def test_the_corpus_as_tool_arguments_stays_json_and_loses_its_values() -> None:
    """Every snippet of the corpus as a JSON argument, masked whole and in random pieces: still JSON,
    the same in both, and no value found in plain text survives in the decoded arguments."""
    rng = random.Random(11)
    for snippet in POSITIVES + NEGATIVES:
        text = orjson.dumps({"q": snippet.text, "n": 1}).decode()
        whole = Screen(ALL).text(text, json=True)
        stream = Screen(ALL).stream()
        out, at = [], 0
        while at < len(text):
            size = rng.randint(1, 9)
            out.append(stream.feed("a", text[at : at + size], json=True))
            at += size
        out.append(stream.flush("a"))
        assert "".join(out) == whole, snippet.text
        decoded = orjson.loads(whole)["q"]
        if find(snippet.text, CATEGORIES_ALL) and snippet in POSITIVES:
            assert snippet.value not in decoded, snippet.text
