"""What a usage record may hold: every number within its column's type, every string within its length.

The gateway refuses bad metadata before a request is sent and clamps what an upstream reports (see
`covey.pricing.tokens`); `fit` is the last word, in the writer's thread, so no value a caller or an
upstream chose can fail the insert of the batch it rides in."""

from __future__ import annotations

from typing import Any

INT4_MAX = 2**31 - 1  # INTEGER on PostgreSQL
INT8_MAX = 2**63 - 1  # BIGINT

# Columns of `usage_records` that are INTEGER, BIGINT, or bounded strings.
_INT4 = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "latency_ms",
    "status",
    "attempts",
)
_STRINGS = {
    "endpoint": 32,
    "model_requested": 200,
    "model_used": 200,
    "provider_used": 100,
    "trace_id": 200,
    "end_user_id": 200,
}


def clamp(value: int, upper: int) -> int:
    return 0 if value < 0 else upper if value > upper else value


def fit(record: dict[str, Any]) -> None:
    """Brings a record's numbers and strings within their columns, in place."""
    for name in _INT4:
        record[name] = clamp(int(record[name]), INT4_MAX)
    record["cost_nanos"] = clamp(int(record["cost_nanos"]), INT8_MAX)
    if record.get("ttft_ms") is not None:
        record["ttft_ms"] = clamp(int(record["ttft_ms"]), INT4_MAX)
    for name, length in _STRINGS.items():
        value = record.get(name)
        if isinstance(value, str) and len(value) > length:
            record[name] = value[:length]
