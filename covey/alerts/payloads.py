"""What a webhook receives: Requesty's generic JSON shape or a Slack message, signed.

Signature: `X-Covey-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the webhook's secret>`
and `X-Covey-Timestamp: <unix seconds>`; a receiver recomputes it and may refuse old timestamps.
"""

from __future__ import annotations

from typing import Any

import orjson

from covey.budgets.periods import ADJECTIVE
from covey.kit.crypto import sign
from covey.kit.money import format_usd, nanos_to_number

_TYPE_PREFIX = {"key": "key", "user": "user", "group": "group", "member": "group_member", "org": "org"}


def threshold_type(owner_type: str) -> str:
    return f"{_TYPE_PREFIX[owner_type]}.budget.exceeded_percent"


def unusual_type(owner_type: str) -> str:
    return f"{_TYPE_PREFIX[owner_type]}.usage.unusual"


def owner_fields(owner_type: str, owner_id: str, name: str, member: dict[str, str] | None) -> dict[str, Any]:
    if owner_type == "key":
        return {"key": {"id": owner_id, "name": name}}
    if owner_type == "user":
        return {"user": {"id": owner_id, "email": name}}
    if owner_type == "org":
        return {"organization": {"id": owner_id, "name": name}}
    out: dict[str, Any] = {"group": {"id": owner_id, "name": name}}
    if owner_type == "member" and member is not None:
        out["user"] = member
    return out


def threshold_payload(
    *,
    alert_id: str,
    owner_type: str,
    owner: dict[str, Any],
    threshold: int,
    budget: int,
    spend: int,
    period: str,
    period_key: str,
    enforcement: str,
    line_id: str,
    fired_at: str,
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "type": threshold_type(owner_type),
        **owner,
        "threshold": {
            "kind": "percent",
            "value": threshold,
            "budget": nanos_to_number(budget),
            "current_spend": nanos_to_number(spend),
        },
        "budget": {"line_id": line_id, "period": period, "period_key": period_key, "enforcement": enforcement},
        "fired_at": fired_at,
    }


def unusual_payload(
    *,
    alert_id: str,
    owner_type: str,
    owner: dict[str, Any],
    factor: float,
    median: int,
    spend: int,
    day: str,
    fired_at: str,
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "type": unusual_type(owner_type),
        **owner,
        "threshold": {
            "kind": "baseline",
            "value": factor,
            "budget": nanos_to_number(median),
            "current_spend": nanos_to_number(spend),
        },
        "baseline": {"median_daily_spend": nanos_to_number(median), "days": 14, "day": day},
        "fired_at": fired_at,
    }


def overrun_payload(
    *,
    alert_id: str,
    provider: str,
    model: str,
    allowed: int,
    reported: int | None,
    key_id: str,
    day: str,
    fired_at: str,
) -> dict[str, Any]:
    return {
        "id": alert_id,
        "type": "provider.output.beyond_cap",
        "provider": {"name": provider, "model": model},
        "threshold": {"kind": "output_cap", "value": allowed, "reported": reported},
        "key": {"id": key_id},
        "day": day,
        "fired_at": fired_at,
    }


def _who(payload: dict[str, Any]) -> str:
    if "key" in payload:
        return f"API key {payload['key']['name']}"
    if "organization" in payload:
        return f"Organization {payload['organization']['name']}"
    if "group" in payload:
        member = f" member {payload['user']['email']}" if "user" in payload else ""
        return f"Group {payload['group']['name']}{member}"
    return f"User {payload['user']['email']}"


def slack_text(payload: dict[str, Any], *, budget: int, spend: int) -> str:
    """`budget` and `spend` in nano-dollars (for unusual usage, `budget` is the median)."""
    t = payload["threshold"]
    if t["kind"] == "output_cap":
        billed = f"billed {t['reported']:,} output tokens" if t["reported"] is not None else "kept writing"
        return (
            f":warning: Provider {payload['provider']['name']} {billed} on {payload['provider']['model']} "
            f"past the cap of {t['value']:,} it was sent; budgets hold only against caps that are honoured."
        )
    if t["kind"] == "baseline":
        return (
            f":rotating_light: {_who(payload)} has spent {format_usd(spend)} today, "
            f"over {t['value']:g}× its 14-day median of {format_usd(budget)}."
        )
    line = payload["budget"]
    return (
        f":warning: {_who(payload)} reached {t['value']}% of its {ADJECTIVE[line['period']]} "
        f"{line['enforcement']} budget of {format_usd(budget)} ({format_usd(spend)} spent in {line['period_key']})."
    )


def body_for(fmt: str, payload: dict[str, Any], *, budget: int, spend: int) -> bytes:
    if fmt == "slack":
        return orjson.dumps({"text": slack_text(payload, budget=budget, spend=spend)})
    return orjson.dumps(payload)


def signature_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Covey-Timestamp": str(timestamp),
        "X-Covey-Signature": "sha256=" + sign(secret, f"{timestamp}.".encode() + body),
    }
