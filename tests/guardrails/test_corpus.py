"""Precision and recall of the detectors on the labelled corpus (figures in the README), and the
stream masker held to the same answers as masking a whole text, whatever the chunking."""

from __future__ import annotations

import random

from covey.guardrails.detectors import CATEGORIES_ALL, find, masked
from covey.guardrails.masking import Screen
from tests.guardrails.corpus import NEGATIVES, POSITIVES


def test_the_corpus_is_large_enough() -> None:
    assert len(POSITIVES) >= 200 and len(NEGATIVES) >= 200
    assert {s.category for s in POSITIVES} == {"pii", "secrets", "financial"}


def test_precision_and_recall() -> None:
    tp = fn = fp = 0
    by_category: dict[str, list[int]] = {}
    for snippet in POSITIVES:
        findings = find(snippet.text, CATEGORIES_ALL)
        hit = any(f.category == snippet.category for f in findings)
        tp += hit
        fn += not hit
        fp += sum(f.category != snippet.category for f in findings)
        counts = by_category.setdefault(str(snippet.category), [0, 0])
        counts[0] += hit
        counts[1] += 1
        if hit:  # nothing of the value survives masking
            assert snippet.value not in masked(snippet.text, findings), snippet.text
    negatives_flagged = sum(bool(find(s.text, CATEGORIES_ALL)) for s in NEGATIVES)
    fp += negatives_flagged
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"\nguardrails corpus: {len(POSITIVES)} positive, {len(NEGATIVES)} negative snippets; "
        f"precision {precision:.3f}, recall {recall:.3f}; "
        + ", ".join(f"{c} recall {h}/{n}" for c, (h, n) in sorted(by_category.items()))
        + f"; negatives flagged {negatives_flagged}"
    )
    assert precision >= 0.97
    assert recall >= 0.95


def test_a_stream_masks_as_the_whole_text_does_whatever_the_chunks() -> None:
    rng = random.Random(7)
    for snippet in POSITIVES + NEGATIVES:
        whole = Screen({"pii": "mask", "secrets": "mask", "financial": "mask"})
        expected = whole.text(snippet.text)
        streamed = Screen({"pii": "mask", "secrets": "mask", "financial": "mask"})
        text = streamed.stream()
        sent: list[str] = []
        at = 0
        while at < len(snippet.text):
            size = rng.randint(1, 7)
            sent.append(text.feed(0, snippet.text[at : at + size]))
            at += size
        sent.append(text.flush(0))
        assert "".join(sent) == expected, snippet.text
        assert streamed.hits == whole.hits
        if snippet.value and snippet.value not in expected:
            # No chunk carries a piece of a value that is masked: its placeholder arrives whole, in one chunk.
            for piece in sent:
                assert snippet.value[:6] not in piece, (snippet.text, piece)
            placeholders = [p for p in sent if "REDACTED]" in p]
            assert placeholders and all(p.count("[") == p.count("REDACTED]") for p in placeholders)
