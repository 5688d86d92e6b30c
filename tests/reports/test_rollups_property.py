"""The rollups equal a recomputation from the usage records, for random batches of random records."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from covey.kit.db import Database
from covey.kit.money import to_nanos
from covey.models import Organization, UsageCharge, UsageRecord
from covey.pricing.prices import UnitPrices
from covey.reports.tables import COUNTERS, GroupMonthRollup, GroupRollup, UsageRollup, UserMonthRollup
from tests.reports.usage_factory import usage, write

# (key, owner, charged groups): a key in a subgroup, one in its parent, one in another tree, a personal key.
KEYS = [
    ("k-backend", "u-dana", ["g-backend", "g-eng"]),
    ("k-eng", "u-dana", ["g-eng"]),
    ("k-sales", "u-sam", ["g-sales"]),
    ("k-personal", "u-eve", []),
]
MODELS = ["mock/gpt-4o", "mock/gpt-4o-mini", "mock/claude-sonnet"]
FEATURES = ["streaming", "tools", "structured_outputs", "reasoning", "auto_caching"]
PRICES = {"mock/gpt-4o": UnitPrices(input=Decimal("2.5"), output=Decimal("10"), cached_input=Decimal("1.25"))}
BASE = datetime(2026, 3, 30, 22, tzinfo=UTC)

record_args = st.fixed_dictionaries(
    {
        "key": st.sampled_from(KEYS),
        "minutes": st.integers(min_value=0, max_value=60 * 24 * 4),
        "model": st.sampled_from(MODELS),
        "endpoint": st.sampled_from(["chat", "messages", "embeddings"]),
        "status": st.sampled_from([200, 200, 200, 429, 502]),
        "cost": st.integers(min_value=0, max_value=10**12),
        "input_tokens": st.integers(min_value=0, max_value=100_000),
        "output_tokens": st.integers(min_value=0, max_value=100_000),
        "cached_tokens": st.integers(min_value=0, max_value=5_000),
        "reasoning_tokens": st.integers(min_value=0, max_value=5_000),
        "features": st.lists(st.sampled_from(FEATURES), unique=True, max_size=3),
    }
)


def _record(org_id: str, a: dict[str, Any]) -> dict[str, Any]:
    key_id, user_id, charged = a["key"]
    return usage(
        org_id=org_id,
        key_id=key_id,
        user_id=user_id,
        charged=charged,
        at=BASE + timedelta(minutes=a["minutes"]),
        model=a["model"],
        endpoint=a["endpoint"],
        status=a["status"],
        cost=a["cost"] if a["status"] < 400 else 0,
        input_tokens=a["input_tokens"],
        output_tokens=a["output_tokens"],
        cached_tokens=a["cached_tokens"],
        reasoning_tokens=a["reasoning_tokens"],
        features=a["features"],
    )


def _expected_counters(r: UsageRecord) -> Counter[str]:
    """Written here from the record's fields alone, independently of the rollup code."""
    saved = 0
    unit = PRICES.get(r.model_used or "")
    if unit is not None and unit.cached_input is not None:
        saved = to_nanos(r.cached_tokens * (unit.input - unit.cached_input) / Decimal(1_000_000))
    c: Counter[str] = Counter(
        requests=1,
        failures=int(r.status >= 400),
        input_tokens=r.input_tokens,
        output_tokens=r.output_tokens,
        cached_tokens=r.cached_tokens,
        reasoning_tokens=r.reasoning_tokens,
        cost_nanos=r.cost_nanos,
        cache_savings_nanos=saved,
    )
    for feature in ("streaming", "tools", "structured_outputs", "reasoning"):
        c[feature] = int(feature in r.features)
    return c


def _rows(db: Database, model: Any, dims: list[str], org_id: str) -> dict[tuple[Any, ...], dict[str, int]]:
    with db.transaction() as session:
        found = session.scalars(select(model).where(model.org_id == org_id)).all()
        return {
            tuple(getattr(row, d) for d in dims): {c: getattr(row, c) for c in COUNTERS if getattr(row, c)}
            for row in found
        }


def _add(into: dict[tuple[Any, ...], Counter[str]], key: tuple[Any, ...], c: Counter[str]) -> None:
    into.setdefault(key, Counter()).update(c)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(record_args, min_size=1, max_size=12), min_size=1, max_size=4))
def test_rollups_equal_a_recomputation_from_the_records(db: Database, batches: list[list[dict[str, Any]]]) -> None:
    with db.transaction() as session:
        org = Organization(name="property")
        session.add(org)
        session.flush()
        org_id = org.id
    for batch in batches:
        write(db, [_record(org_id, a) for a in batch], prices=PRICES.get)

    with db.transaction() as session:
        records = session.scalars(select(UsageRecord).where(UsageRecord.org_id == org_id)).all()
        charges = session.execute(
            select(UsageCharge.usage_id, UsageCharge.group_id, UsageCharge.depth).where(UsageCharge.org_id == org_id)
        ).all()
    by_id = {r.id: r for r in records}
    fine: dict[tuple[Any, ...], Counter[str]] = {}
    groups: dict[tuple[Any, ...], Counter[str]] = {}
    group_months: dict[tuple[Any, ...], Counter[str]] = {}
    user_months: dict[tuple[Any, ...], Counter[str]] = {}
    for r in records:
        models = (r.endpoint, r.model_requested, r.model_used or "", r.provider_used or "")
        day = r.created_at.date()
        _add(fine, (day, r.key_id, r.user_id, r.group_id or "", *models), _expected_counters(r))
        _add(user_months, (day.replace(day=1), r.user_id, r.group_id or "", *models), _expected_counters(r))
        if not r.charged_groups:
            _add(groups, (day, "", True, *models), _expected_counters(r))
            _add(group_months, (day.replace(day=1), "", True, *models), _expected_counters(r))
    for usage_id, group_id, depth in charges:
        r = by_id[usage_id]
        models = (r.endpoint, r.model_requested, r.model_used or "", r.provider_used or "")
        day = r.created_at.date()
        _add(groups, (day, group_id, depth == 0, *models), _expected_counters(r))
        _add(group_months, (day.replace(day=1), group_id, depth == 0, *models), _expected_counters(r))

    fine_dims = ["day", "key_id", "user_id", "group_id", "endpoint", "model_requested", "model_used", "provider_used"]
    group_dims = ["day", "group_id", "own", "endpoint", "model_requested", "model_used", "provider_used"]
    assert _rows(db, UsageRollup, fine_dims, org_id) == _nonzero(fine)
    assert _rows(db, GroupRollup, group_dims, org_id) == _nonzero(groups)
    month_dims = ["month", *group_dims[1:]]
    assert _rows(db, GroupMonthRollup, month_dims, org_id) == _nonzero(group_months)
    user_dims = ["month", "user_id", "group_id", "endpoint", "model_requested", "model_used", "provider_used"]
    assert _rows(db, UserMonthRollup, user_dims, org_id) == _nonzero(user_months)


def _nonzero(sums: dict[tuple[Any, ...], Counter[str]]) -> dict[tuple[Any, ...], dict[str, int]]:
    return {k: {n: v for n, v in c.items() if v} for k, c in sums.items()}
