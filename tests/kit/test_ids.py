"""Ids are random version-4 UUIDs in their usual text form, never repeated."""

from __future__ import annotations

import uuid

from covey.kit.ids import hex_id, is_id, new_id


def test_new_ids_are_version_4_uuids_in_canonical_text() -> None:
    made = [new_id() for _ in range(5000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text and is_id(text)
    # Every variant nibble turns up (the two random bits under the variant's own).
    assert {text[19] for text in made} == set("89ab")


def test_hex_ids_are_32_random_hex_digits() -> None:
    made = {hex_id() for _ in range(1000)}
    assert len(made) == 1000 and all(len(h) == 32 and int(h, 16) >= 0 for h in made)
    assert not is_id("not-an-id")
