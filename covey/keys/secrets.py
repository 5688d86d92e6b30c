"""Issuing a key's secret: returned once, only its hash and a short prefix kept."""

from __future__ import annotations

from dataclasses import dataclass

from covey.kit.crypto import hash_secret, new_api_key, visible_prefix


@dataclass(frozen=True)
class IssuedSecret:
    secret: str
    key_hash: str
    prefix: str


def issue() -> IssuedSecret:
    secret = new_api_key()
    return IssuedSecret(secret=secret, key_hash=hash_secret(secret), prefix=visible_prefix(secret))
