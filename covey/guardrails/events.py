"""The audit event a request with guardrail hits leaves: counts per category, never the text."""

from __future__ import annotations

from typing import Any

from covey.guardrails.masking import BLOCKED
from covey.models import AuditEvent


def guardrail_event(record: dict[str, Any]) -> AuditEvent:
    """`guardrail.masked`, or `guardrail.blocked` for a request refused, or an answer withheld, by a
    category in block mode."""
    blocked = record["status"] == 400 and BLOCKED in str(record.get("error") or "")
    return AuditEvent(
        org_id=record["org_id"],
        occurred_at=record["created_at"],
        actor_kind="key",
        actor_id=record["key_id"],
        actor_label="gateway",
        action="guardrail.blocked" if blocked else "guardrail.masked",
        target_type="apikey",
        target_id=record["key_id"],
        after={
            "counts": dict(record["guardrails"]),
            "usage_id": record["id"],
            "user_id": record["user_id"],
            "endpoint": record["endpoint"],
            "model": record["model_requested"],
        },
    )
