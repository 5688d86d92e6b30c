"""The usage writer never stops: on the real database, a record it cannot write goes to the quarantine
with the reason and the rest of its batch lands; numbers beyond the column types are brought within
them; the loop survives every failure; a stop writes everything; the figures show in the metrics."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
from sqlalchemy import select

from covey.kit.clock import utcnow
from covey.kit.db import Database
from covey.models import QuarantinedUsage, UsageRecord
from covey.ops.metrics import Metrics
from covey.usage.batches import InThread
from covey.usage.bounds import INT4_MAX
from covey.usage.writer import UsageWriter
from tests.conftest import Org


def record(org_id: str, key_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "created_at": utcnow(),
        "key_id": key_id,
        "user_id": f"u-{uuid.uuid4().hex[:8]}",
        "group_id": None,
        "charged_groups": [],
        "endpoint": "chat",
        "model_requested": "m",
        "model_used": "p/m",
        "provider_used": "p",
        "input_tokens": 3,
        "output_tokens": 5,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_nanos": 100,
        "latency_ms": 1,
        "ttft_ms": None,
        "status": 200,
        "error": None,
        "stream": False,
        "attempts": 1,
        "features": [],
        "tags": [],
        "trace_id": None,
        "end_user_id": None,
        "extra": {},
        "dimensions": {},
        "request_body": None,
        "response_body": None,
        **fields,
    }


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def rows(db: Database, key_id: str) -> list[UsageRecord]:
    with db.sessions() as session:
        return list(session.scalars(select(UsageRecord).where(UsageRecord.key_id == key_id)))


def quarantined(db: Database, key_id: str) -> list[QuarantinedUsage]:
    with db.sessions() as session:
        found = session.scalars(select(QuarantinedUsage)).all()
    return [q for q in found if orjson.loads(q.record).get("key_id") == key_id]


def sample(metrics: Metrics, name: str) -> float:
    for line in metrics.render().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the metrics")


def test_a_poisoned_record_is_quarantined_and_the_rest_of_its_batch_lands(org: Org, db: Database) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    metrics = Metrics()
    writer = UsageWriter(db, flush_seconds=60, metrics=metrics)
    # An organization that is gone (deleted while its record waited): the database refuses the row.
    writer.add(record(org.id, key, trace_id="before"))
    writer.add(record(str(uuid.uuid4()), key, trace_id="poison"))
    writer.add(record(org.id, key, trace_id="after"))
    asyncio.run(writer.flush())

    assert sorted(r.trace_id or "" for r in rows(db, key)) == ["after", "before"]
    (kept,) = quarantined(db, key)
    assert orjson.loads(kept.record)["trace_id"] == "poison" and "IntegrityError" in kept.reason
    assert writer.pending == 0 and writer.quarantined == 1
    assert sample(metrics, "covey_usage_records_quarantined_total") == 1
    assert sample(metrics, "covey_usage_records_written_total") == 2

    # The next batch lands as if nothing happened.
    writer.add(record(org.id, key, trace_id="next"))
    asyncio.run(writer.flush())
    assert sorted(r.trace_id or "" for r in rows(db, key)) == ["after", "before", "next"]


def test_numbers_past_the_columns_are_clamped_and_nested_metadata_is_quarantined(org: Org, db: Database) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    metrics = Metrics()
    writer = UsageWriter(db, flush_seconds=60, metrics=metrics)
    writer.add(record(org.id, key, trace_id="huge", input_tokens=2**40, output_tokens=-7, cost_nanos=-5))
    writer.add(record(org.id, key, trace_id="deep", extra=deep(5000)))
    writer.add(record(org.id, key, trace_id="long", model_requested="m" * 5000))
    writer.add(record(org.id, key, trace_id="plain"))
    asyncio.run(writer.flush())

    by_trace = {r.trace_id: r for r in rows(db, key)}
    assert set(by_trace) == {"huge", "long", "plain"}
    huge = by_trace["huge"]
    assert (huge.input_tokens, huge.output_tokens, huge.cost_nanos) == (INT4_MAX, 0, 0)
    assert len(by_trace["long"].model_requested) == 200
    (kept,) = quarantined(db, key)
    assert kept.reason and orjson.loads(kept.record)["trace_id"] == "deep"
    assert sample(metrics, "covey_usage_records_quarantined_total") == 1


def test_a_database_that_does_not_answer_keeps_the_records_and_the_writer_reports_it(
    org: Org, db: Database, tmp_path: Any
) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    gone = Database.connect(f"sqlite:///{tmp_path}/missing/nothing-here.db")  # its folder does not exist
    metrics = Metrics()
    writer = UsageWriter(gone, flush_seconds=0.01, metrics=metrics, behind_seconds=0.05)

    async def scenario() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(writer.run(stop))
        writer.add(record(org.id, key))
        writer.add(record(org.id, key))
        await asyncio.sleep(0.3)
        assert not loop.done()  # the loop lives on
        assert writer.pending == 2
        assert writer.readiness().startswith("behind: 2 usage records waiting")
        # The database answers again: the same records land, once each.
        writer.db, writer.batches = db, InThread(db, None)
        await asyncio.sleep(0.2)
        stop.set()
        await loop
        await writer.stop()

    asyncio.run(scenario())
    gone.dispose()
    assert len(rows(db, key)) == 2
    assert writer.pending == 0 and writer.readiness() == "ok"
    assert sample(metrics, "covey_usage_write_failures_total") >= 1
    assert quarantined(db, key) == []


def test_a_stop_writes_everything_left(org: Org, db: Database) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    writer = UsageWriter(db, flush_seconds=60, metrics=Metrics())
    for n in range(250):
        writer.add(record(org.id, key, trace_id=str(n)))
    writer.add(record(str(uuid.uuid4()), key, trace_id="poison"))
    asyncio.run(writer.stop())
    assert len(rows(db, key)) == 250 and len(quarantined(db, key)) == 1 and writer.pending == 0


def test_a_record_reads_back_as_written_every_column(org: Org, db: Database) -> None:
    """PostgreSQL takes batches by COPY, SQLite by inserts: either way each column reads back as given,
    JSON, text with quotes, tabs, newlines and backslashes, times and NULLs."""
    key = f"k-{uuid.uuid4().hex[:8]}"
    odd = 'quote " tab \t newline \n backslash \\ comma , NUL-free \u00e9\u4e2d\U0001f600'
    given = record(
        org.id,
        key,
        charged_groups=["g-1", "g-2"],
        features=["streaming", "tools"],
        tags=["a", odd],
        extra={"nested": {"list": [1, 2.5, None, True], "huge": 2**70, "text": odd}},
        dimensions={"team": odd},
        trace_id="t-1",
        ttft_ms=12,
        error=odd,
        request_body=odd,
        stream=True,
    )
    writer = UsageWriter(db, flush_seconds=60, metrics=Metrics())
    writer.add(dict(given))
    asyncio.run(writer.flush())

    (row,) = rows(db, key)
    assert row.created_at == given["created_at"]
    assert (row.charged_groups, row.features, row.tags) == (["g-1", "g-2"], ["streaming", "tools"], ["a", odd])
    assert row.extra == given["extra"] and row.dimensions == {"team": odd}
    assert (row.error, row.request_body, row.response_body, row.end_user_id) == (odd, odd, None, None)
    assert (row.stream, row.ttft_ms, row.attempts, row.trace_id) == (True, 12, 1, "t-1")
    assert (row.input_tokens, row.output_tokens, row.cost_nanos, row.status) == (3, 5, 100, 200)


class Settling:
    """A record's budget charge, as the writer sees it: landed once its settle was answered."""

    def __init__(self) -> None:
        self.landed = False


def test_a_record_waits_for_its_settle_and_a_stop_writes_it_anyway(org: Org, db: Database) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    writer = UsageWriter(db, flush_seconds=60, metrics=Metrics())
    first, second = Settling(), Settling()
    writer.add(record(org.id, key, trace_id="first"), first)
    writer.add(record(org.id, key, trace_id="plain"))
    writer.add(record(org.id, key, trace_id="second"), second)

    async def scenario() -> list[list[str]]:
        seen = []
        await writer.flush()
        seen.append(sorted(r.trace_id or "" for r in rows(db, key)))
        first.landed = True
        await writer.flush()
        seen.append(sorted(r.trace_id or "" for r in rows(db, key)))
        await writer.stop()  # the second never settles: a stop writes it all the same
        seen.append(sorted(r.trace_id or "" for r in rows(db, key)))
        return seen

    assert asyncio.run(scenario()) == [["plain"], ["first", "plain"], ["first", "plain", "second"]]
    assert writer.pending == 0
