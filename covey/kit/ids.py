"""Ids: random UUIDs (version 4) as text, and opaque hex ids for what the gateway names in answers.

Made from 16 random bytes straight into text, without a `uuid.UUID` object in between: the hot path
makes a few per request, and this is twice as fast as `str(uuid.uuid4())` with the same randomness."""

from __future__ import annotations

import os
import uuid

_VARIANT = "89ab" * 4  # the variant's two bits (10) over the nibble's own two low bits


def new_id() -> str:
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


def hex_id() -> str:
    """32 random hex digits (a message or completion id the gateway makes up)."""
    return os.urandom(16).hex()


def is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
