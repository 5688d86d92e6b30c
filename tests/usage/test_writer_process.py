"""The usage writer's own process (`usage_writer_process`): batches are written by another process on
the same database, a record the database refuses is still quarantined alone, and a writer process
that is killed loses nothing and writes nothing twice: the records wait for the next one; and a
writer process ends with the server that started it, however that ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from covey.app import create_app
from covey.config import Settings
from covey.kit.db import Database
from covey.ops.metrics import Metrics
from covey.usage.batches import InProcess, Target
from covey.usage.writer import UsageWriter
from tests.conftest import Org
from tests.gateway.servers import serve
from tests.usage.test_writer import deep, quarantined, record, rows


@pytest.fixture
def batches(database_url: str) -> Iterator[InProcess]:
    made = InProcess(Target(database_url=database_url, prices={}))
    yield made
    made.close()


def test_batches_are_written_by_another_process(org: Org, db: Database, batches: InProcess) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    writer = UsageWriter(db, flush_seconds=60, metrics=Metrics(), batches=batches)
    for n in range(50):
        writer.add(record(org.id, key, trace_id=f"t{n}"))
    asyncio.run(writer.flush())

    assert batches.pid is not None and batches.pid != os.getpid()
    assert sorted(int((r.trace_id or "t")[1:]) for r in rows(db, key)) == list(range(50))
    assert writer.pending == 0 and writer.written == 50


def test_a_refused_record_is_quarantined_alone_through_the_process(org: Org, db: Database, batches: InProcess) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    writer = UsageWriter(db, flush_seconds=60, metrics=Metrics(), batches=batches)
    writer.add(record(org.id, key, trace_id="before"))
    writer.add(record(str(uuid.uuid4()), key, trace_id="poison"))  # an org that is gone: refused
    writer.add(record(org.id, key, trace_id="deep", extra=deep(5000)))  # too deep to send or to store
    writer.add(record(org.id, key, trace_id="after"))
    asyncio.run(writer.flush())

    assert sorted(r.trace_id or "" for r in rows(db, key)) == ["after", "before"]
    reasons = sorted(q.reason for q in quarantined(db, key))
    assert len(reasons) == 2 and any(r.startswith("IntegrityError") for r in reasons)
    assert writer.pending == 0


def test_a_killed_writer_process_loses_nothing_and_writes_nothing_twice(
    org: Org, db: Database, batches: InProcess
) -> None:
    key = f"k-{uuid.uuid4().hex[:8]}"
    writer = UsageWriter(db, flush_seconds=60, metrics=Metrics(), batches=batches)

    async def scenario() -> None:
        writer.add(record(org.id, key, trace_id="first"))
        await writer.flush()
        first = batches.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        writer.add(record(org.id, key, trace_id="second"))
        writer.add(record(org.id, key, trace_id="third"))
        for _ in range(20):  # the flush that meets the dead process keeps the records; a later one writes them
            await writer.flush()
            if writer.pending == 0:
                break
            await asyncio.sleep(0.1)
        assert batches.pid not in (None, first)

    asyncio.run(scenario())
    assert sorted(r.trace_id or "" for r in rows(db, key)) == ["first", "second", "third"]
    assert quarantined(db, key) == []
    assert writer.pending == 0


SERVER = """
import sys, time
from covey.usage.batches import InProcess, Target
batches = InProcess(Target(database_url=sys.argv[1], prices={}))
batches([], None)
print(batches.pid, flush=True)
time.sleep(600)
"""


def ended(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # ended, waiting to be reaped by whoever adopted it


def test_a_writer_process_ends_with_its_server(database_url: str) -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER, database_url], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        assert not ended(child)
        server.kill()  # no shutdown: the writer process learns it from its pipe
        server.wait()
        deadline = time.monotonic() + 30
        while not ended(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ended(child)
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()


def writer_processes() -> list[int]:
    """This process's children that are usage writer processes."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                if b"covey.usage.writer_process" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
    return found


def test_a_server_starts_its_writer_process_before_its_first_request(settings: Settings) -> None:
    """Its start-up (a second of CPU) is over before requests come, not paid while the first are served."""
    before = set(writer_processes())
    with serve(create_app(settings)):
        started = set(writer_processes()) - before
        assert len(started) == 1
    assert all(ended(pid) for pid in started)
