"""Embedding vectors in the encoding the caller asked for, whatever the upstream sent.

OpenAI's `encoding_format: "base64"` is the little-endian float32 bytes of each vector, in base64;
the Node SDK asks for it by default and decodes it without checking, so a list of floats relayed as
is would decode to garbage."""

from __future__ import annotations

import array
import base64
import sys
from typing import Any

from covey.gateway.errors import GatewayError

Json = dict[str, Any]
ENCODINGS = ("float", "base64")


def requested_encoding(body: Json) -> str:
    given = body.get("encoding_format", "float")
    if given not in ENCODINGS:
        raise GatewayError(400, "encoding_format: must be 'float' or 'base64'")
    return str(given)


def _to_base64(vector: list[Any]) -> str:
    packed = array.array("f", (float(v) for v in vector))
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def _to_floats(encoded: str) -> list[float]:
    packed = array.array("f")
    packed.frombytes(base64.b64decode(encoded))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def encode(resp: Json, encoding: str) -> Json:
    """Rewrites each `data[].embedding` in place into `encoding`."""
    for item in resp.get("data") or ():
        if not isinstance(item, dict):
            continue
        vector = item.get("embedding")
        if encoding == "base64" and isinstance(vector, list):
            item["embedding"] = _to_base64(vector)
        elif encoding == "float" and isinstance(vector, str):
            item["embedding"] = _to_floats(vector)
    return resp
