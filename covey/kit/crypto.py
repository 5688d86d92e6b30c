"""Secrets: made once, shown once, stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "cvy_"
VISIBLE_CHARS = 12


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30)


def visible_prefix(secret: str) -> str:
    return secret[:VISIBLE_CHARS]


def hash_secret(secret: str) -> str:
    """SHA-256 is right for high-entropy random secrets: fast enough for the hot path, not reversible."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(30)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
