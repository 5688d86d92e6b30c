"""Spend analytics at scale: a realistic organization (1,000 users, 100 groups in a tree, 2,000 keys)
and N usage records over 13 months, then the main reports timed against the same question asked of
the raw usage records.

    python bench/analytics.py                        # 10,000,000 records, SQLite then PostgreSQL
    python bench/analytics.py --records 200000 --database sqlite

Loading: usage records and their charges go in with the database's bulk path (COPY on PostgreSQL,
executemany in transactions of one chunk on SQLite). The rollups are built by the writer's own code
(`rollups.summarize` + `rollups.apply_summary`, what `apply_to_rollups` runs) once per chunk, in the
chunk's transaction. Records are generated in time order, so a chunk covers a few days.

Timing: each report as its service function returns it; Requesty's org usage up to the JSON body
the endpoint sends. The raw column asks the same question of the usage records (and their charges).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from covey.auth.caller import Caller
from covey.budgets.periods import add_months
from covey.config import normalize_database_url
from covey.kit.db import make_engine
from covey.migrations import runner
from covey.models import ApiKey, Group, Membership, Organization, UsageCharge, UsageRecord, User
from covey.reports import periods, repository, service, usage_api
from covey.reports.rollups import apply_summary, summarize

console = Console()
USERS, GROUPS, KEYS, TOP_GROUPS = 1_000, 100, 2_000, 8
# (model id, nano-dollars per input token, per output token)
MODELS = [
    ("openai/gpt-4o", 2_500, 10_000),
    ("openai/gpt-4o-mini", 150, 600),
    ("anthropic/claude-sonnet-4", 3_000, 15_000),
    ("anthropic/claude-haiku-4", 800, 4_000),
    ("google/gemini-2.5-pro", 1_250, 10_000),
    ("google/gemini-2.5-flash", 300, 2_500),
    ("openai/o3", 2_000, 8_000),
    ("openai/text-embedding-3-small", 20, 0),
]
FEATURE_SETS = [[], [], ["streaming"], ["streaming", "tools"], ["structured_outputs"], ["reasoning"], ["tools"]]
RECORD_COLUMNS = [
    "id", "org_id", "created_at", "key_id", "user_id", "group_id", "charged_groups", "endpoint",
    "model_requested", "model_used", "provider_used", "input_tokens", "output_tokens", "cached_tokens",
    "cache_write_tokens", "reasoning_tokens", "cost_nanos", "latency_ms", "ttft_ms", "status", "error",
    "stream", "attempts", "features", "tags", "trace_id", "end_user_id", "extra", "dimensions",
    "request_body", "response_body",
]  # fmt: skip
ROLLUP_TABLES = ("usage_rollups", "usage_group_rollups", "usage_group_months", "usage_user_months")
CHARGE_COLUMNS = ["usage_id", "group_id", "org_id", "created_at", "cost_nanos", "depth"]


@dataclass
class Org:
    id: str
    parent_of: dict[str, str | None]
    tops: list[str]
    keys: list[tuple[str, str, str | None, tuple[str, ...], list[float]]]  # id, owner, group, chain, model weights


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def build_org(engine: sa.Engine, rng: random.Random) -> Org:
    now = _now()
    org_id = str(uuid.uuid4())
    with Session(engine) as session:
        session.add(Organization(id=org_id, name="Bench Corp", created_at=now))
        session.flush()
        parent_of: dict[str, str | None] = {}
        depth: dict[str, int] = {}
        group_rows = []
        for i in range(GROUPS):
            gid = str(uuid.uuid4())
            parent = None if i < TOP_GROUPS else rng.choice([g for g in parent_of if depth[g] < 4])
            parent_of[gid] = parent
            depth[gid] = 1 if parent is None else depth[parent] + 1
            budget = rng.choice([None, None, 500, 2_000, 10_000]) if parent is None or rng.random() < 0.3 else None
            group_rows.append(
                {
                    "id": gid,
                    "org_id": org_id,
                    "parent_id": parent,
                    "name": f"group-{i:03d}",
                    "description": "",
                    "kind": "department" if parent is None else "project",
                    "is_default": False,
                    "features": {},
                    "monthly_budget": budget * 1_000_000_000 if budget else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for row in group_rows:  # parents first, for the foreign key
            session.execute(sa.insert(Group), [row])
        users = [str(uuid.uuid4()) for _ in range(USERS)]
        session.execute(
            sa.insert(User),
            [
                {
                    "id": uid,
                    "org_id": org_id,
                    "email": f"user{i:04d}@bench.example",
                    "name": f"User {i}",
                    "role": "admin" if i == 0 else "member",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, uid in enumerate(users)
            ],
        )
        gids = list(parent_of)
        leaves = [g for g in gids if g not in set(parent_of.values())] or gids
        member_of: dict[str, list[str]] = {}
        rows = []
        for uid in users:
            mine = rng.sample(leaves, k=rng.choice([1, 1, 1, 2]))
            member_of[uid] = mine
            rows += [
                {
                    "org_id": org_id,
                    "group_id": g,
                    "user_id": uid,
                    "role": "member",
                    "added_at": now - timedelta(days=400),
                }
                for g in mine
            ]
        session.execute(sa.insert(Membership), rows)
        top_of = {g: next(c for c in _chain(parent_of, g) if parent_of[c] is None) for g in gids}
        tops = [g for g in gids if parent_of[g] is None]
        # Each top-level subtree leans towards a few models: what "model preference per group" looks like.
        mix = {t: [rng.random() ** 3 for _ in MODELS] for t in tops}
        keys = []
        key_rows = []
        for i in range(KEYS):
            owner = users[i % USERS]
            group = rng.choice(member_of[owner]) if rng.random() < 0.85 else None
            kid = str(uuid.uuid4())
            weights = mix[top_of[group]] if group else [1.0] * len(MODELS)
            keys.append((kid, owner, group, tuple(_chain(parent_of, group)) if group else (), weights))
            key_rows.append(
                {
                    "id": kid,
                    "org_id": org_id,
                    "name": f"key-{i}",
                    "key_hash": uuid.uuid4().hex + uuid.uuid4().hex,
                    "prefix": "sk-bench",
                    "owner_id": owner,
                    "group_id": group,
                    "manage": "none",
                    "completions": "write",
                    "labels": {},
                    "features": {},
                    "logging": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        session.execute(sa.insert(ApiKey), key_rows)
        session.commit()
    return Org(id=org_id, parent_of=parent_of, tops=tops, keys=keys)


def _chain(parent_of: dict[str, str | None], gid: str) -> list[str]:
    out = [gid]
    while parent_of[out[-1]] is not None:
        out.append(parent_of[out[-1]])  # type: ignore[arg-type]
    return out


def generate(org: Org, total: int, chunk: int, rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """Records in time order over the last 13 months, `chunk` at a time."""
    end = _now()
    start = end - timedelta(days=395)
    span = (end - start).total_seconds()
    cumulative = {k[0]: _cumulative(k[4]) for k in org.keys}
    done = 0
    while done < total:
        n = min(chunk, total - done)
        batch = []
        for i in range(n):
            kid, owner, group, chain, _w = org.keys[rng.randrange(KEYS)]
            model, p_in, p_out = MODELS[_pick(cumulative[kid], rng.random())]
            embedding = p_out == 0
            failed = rng.random() < 0.02
            inp = int(rng.expovariate(1 / 1500)) + 10
            out = 0 if embedding else int(rng.expovariate(1 / 400)) + 1
            cached = int(inp * rng.random()) if rng.random() < 0.2 else 0
            features = [] if embedding else FEATURE_SETS[rng.randrange(len(FEATURE_SETS))]
            at = start + timedelta(seconds=span * (done + i + rng.random()) / total)
            batch.append(
                {
                    "id": str(uuid.uuid4()),
                    "org_id": org.id,
                    "created_at": at,
                    "key_id": kid,
                    "user_id": owner,
                    "group_id": group,
                    "charged_groups": list(chain),
                    "endpoint": "embeddings" if embedding else "chat",
                    "model_requested": model,
                    "model_used": None if failed else model,
                    "provider_used": None if failed else model.split("/")[0],
                    "input_tokens": 0 if failed else inp,
                    "output_tokens": 0 if failed else out,
                    "cached_tokens": 0 if failed else cached,
                    "reasoning_tokens": 0,
                    "cost_nanos": 0 if failed else (inp - cached) * p_in + cached * p_in // 2 + out * p_out,
                    "status": 502 if failed else 200,
                    "features": features,
                }
            )
        done += n
        yield batch


def _cumulative(weights: list[float]) -> list[float]:
    total, out, running = sum(weights), [], 0.0
    for w in weights:
        running += w / total
        out.append(running)
    return out


def _pick(cumulative: list[float], x: float) -> int:
    for i, edge in enumerate(cumulative):
        if x <= edge:
            return i
    return len(cumulative) - 1


def _record_row(r: dict[str, Any], dialect: str) -> tuple[Any, ...]:
    at = r["created_at"]
    created = at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if dialect == "sqlite" else at
    return (
        r["id"], r["org_id"], created, r["key_id"], r["user_id"], r["group_id"], json.dumps(r["charged_groups"]),
        r["endpoint"], r["model_requested"], r["model_used"], r["provider_used"], r["input_tokens"],
        r["output_tokens"], r["cached_tokens"], 0, 0, r["cost_nanos"], 200, None, r["status"],
        None if r["status"] < 400 else "upstream failed", "streaming" in r["features"], 1,
        json.dumps(r["features"]), "[]", None, None, "{}", "{}", None, None,
    )  # fmt: skip


def _charge_rows(r: dict[str, Any], created: Any) -> Iterator[tuple[Any, ...]]:
    for depth, gid in enumerate(r["charged_groups"]):
        yield (r["id"], gid, r["org_id"], created, r["cost_nanos"], depth)


def load(engine: sa.Engine, org: Org, total: int, chunk: int, seed: int) -> float:
    dialect = engine.dialect.name
    rng = random.Random(seed)
    started = time.perf_counter()
    columns = ", ".join(RECORD_COLUMNS)
    with Progress(
        TextColumn(f"[bold]{dialect}[/] usage records"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("load", total=total)
        for batch in generate(org, total, chunk, rng):
            records = [_record_row(r, dialect) for r in batch]
            charges = [c for r, row in zip(batch, records, strict=True) for c in _charge_rows(r, row[2])]
            with Session(engine) as session:
                raw = session.connection().connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                if dialect == "postgresql":
                    with cursor.copy(f"COPY usage_records ({columns}) FROM STDIN") as copy:
                        for row in records:
                            copy.write_row(row)
                    with cursor.copy(f"COPY usage_charges ({', '.join(CHARGE_COLUMNS)}) FROM STDIN") as copy:
                        for row in charges:
                            copy.write_row(row)
                else:
                    marks = ", ".join("?" * len(RECORD_COLUMNS))
                    cursor.executemany(f"INSERT INTO usage_records ({columns}) VALUES ({marks})", records)
                    cursor.executemany(
                        f"INSERT INTO usage_charges ({', '.join(CHARGE_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", charges
                    )
                apply_summary(session, summarize(batch))
                session.commit()
            progress.advance(task, len(batch))
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


# --- the questions, asked of the rollups and of the raw records ------------------------------------


def _raw_tree(session: Session, org_id: str, month: datetime) -> Any:
    charged = session.execute(
        sa.select(UsageCharge.group_id, sa.func.sum(UsageCharge.cost_nanos))
        .where(UsageCharge.org_id == org_id, UsageCharge.created_at >= month)
        .group_by(UsageCharge.group_id)
    ).all()
    total = session.scalar(
        sa.select(sa.func.sum(UsageRecord.cost_nanos)).where(
            UsageRecord.org_id == org_id, UsageRecord.created_at >= month
        )
    )
    return charged, total


def _raw_trend(session: Session, org_id: str, group_id: str, since: datetime) -> Any:
    bucket = periods.timestamp_bucket(UsageCharge.created_at, "month", repository.dialect_of(session))
    return session.execute(
        sa.select(bucket, sa.func.sum(UsageCharge.cost_nanos))
        .where(UsageCharge.org_id == org_id, UsageCharge.group_id == group_id, UsageCharge.created_at >= since)
        .group_by(bucket)
    ).all()


def _raw_allocation(session: Session, org_id: str, start: datetime, end: datetime) -> Any:
    personal = sa.case((UsageRecord.group_id.is_(None), UsageRecord.user_id), else_="")
    return session.execute(
        sa.select(UsageRecord.group_id, personal, sa.func.count(), sa.func.sum(UsageRecord.cost_nanos))
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= start, UsageRecord.created_at < end)
        .group_by(UsageRecord.group_id, personal)
    ).all()


def _timed(engine: sa.Engine, fn: Callable[[Session], Any], repeat: int) -> float:
    times = []
    for i in range(repeat + 1):
        with Session(engine) as session:
            t = time.perf_counter()
            fn(session)
            if i:  # the first run warms the caches
                times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def questions(org: Org, engine: sa.Engine) -> list[tuple[str, Callable[[Session], Any], Callable[[Session], Any]]]:
    caller = Caller.system(org.id, label="bench")
    now = _now()
    this_month = now.date().replace(day=1)
    month_dt = datetime(this_month.year, this_month.month, 1, tzinfo=UTC)
    last_month = add_months(this_month, -1)
    last_dt = datetime(last_month.year, last_month.month, 1, tzinfo=UTC)
    year_ago = add_months(this_month, -11)
    year_dt = datetime(year_ago.year, year_ago.month, 1, tzinfo=UTC)
    with Session(engine) as session:
        spend = service.group_tree(session, caller, month=this_month).nodes
    top = max((n for n in spend if n.parent_id is None), key=lambda n: float(n.spend)).group_id
    end = datetime(now.year, now.month, now.day, tzinfo=UTC)
    query = usage_api.UsageQuery(
        start=end - timedelta(days=30), end=end, resolution="day", group_by=("group_id", "model_requested")
    )
    names = {g: g for g in org.parent_of}
    return [
        (
            "group tree, month to date",
            lambda s: service.group_tree(s, caller, month=this_month),
            lambda s: _raw_tree(s, org.id, month_dt),
        ),
        (
            "12-month trend of a top-level group",
            lambda s: service.group_spend(s, caller, months=12, group_id=top),
            lambda s: _raw_trend(s, org.id, top, year_dt),
        ),
        (
            "cost allocation, last month",
            lambda s: service.allocation(s, caller, month=last_month),
            lambda s: _raw_allocation(s, org.id, last_dt, month_dt),
        ),
        (
            "org usage by group and model, 30 days",
            lambda s: orjson.dumps(usage_api.usage(s, org_id=org.id, key_id=None, query=query, group_names=names)),
            lambda s: orjson.dumps(
                usage_api.usage(s, org_id=org.id, key_id=None, query=query, group_names=names, raw=True)
            ),
        ),
    ]


def _big_cache(dbapi_connection: Any, _record: Any) -> None:
    # Random-uuid primary keys touch pages all over the b-trees: keep them in memory while loading.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA cache_size=-4000000")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def bench(
    url: str, records: int, chunk: int, repeat: int, seed: int
) -> tuple[str, float, list[tuple[str, float, float]]]:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _big_cache)
    runner.upgrade(engine)
    org = build_org(engine, random.Random(seed))
    load_seconds = load(engine, org, records, chunk, seed)
    results = [
        (name, _timed(engine, fast, repeat), _timed(engine, slow, repeat))
        for name, fast, slow in questions(org, engine)
    ]
    _print_sizes(engine)
    engine.dispose()
    return engine.dialect.name, load_seconds, results


def _print_sizes(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        sizes = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("usage_records", *ROLLUP_TABLES)}
    console.print(f"{engine.dialect.name}: " + ", ".join(f"{t} {n:,} rows" for t, n in sizes.items()))


def time_only(url: str, repeat: int) -> tuple[str, float, list[tuple[str, float, float]]]:
    engine = make_engine(url)
    with Session(engine) as session:
        org_id = session.scalar(sa.select(Organization.id).where(Organization.name == "Bench Corp"))
        assert org_id is not None, "no benchmark organization in this database"
        parent_of = dict(session.execute(sa.select(Group.id, Group.parent_id).where(Group.org_id == org_id)).all())
    org = Org(id=org_id, parent_of=parent_of, tops=[g for g, p in parent_of.items() if p is None], keys=[])
    results = [
        (name, _timed(engine, fast, repeat), _timed(engine, slow, repeat))
        for name, fast, slow in questions(org, engine)
    ]
    dialect = engine.dialect.name
    _print_sizes(engine)
    engine.dispose()
    return dialect, 0.0, results


def _postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"covey_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--chunk", type=int, default=100_000, help="records per transaction")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per question (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--url", help="time the reports on a database an earlier --keep run loaded; load nothing")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("COVEY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an administrative connection; the benchmark creates (and drops) its own database",
    )
    args = parser.parse_args()
    runs = []
    if args.url:
        runs.append(time_only(normalize_database_url(args.url), args.repeat))
        args.database = "none"
    chosen = {"both": ("sqlite", "postgresql"), "none": ()}.get(args.database, (args.database,))
    for dialect in chosen:
        if dialect == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="covey-bench-"))
            url, cleanup = f"sqlite:///{folder / 'bench.db'}", lambda folder=folder: _remove(folder)
        else:
            url, cleanup = _postgres_database(normalize_database_url(args.postgres_url))
        try:
            runs.append(bench(url, args.records, args.chunk, args.repeat, args.seed))
        finally:
            if args.keep:
                console.print(f"kept {url}")
            else:
                cleanup()
    table = Table(title=f"Spend analytics at {args.records:,} usage records (median of {args.repeat} runs)")
    for column in ("database", "report", "rollups (ms)", "raw records (ms)", "raw / rollups"):
        table.add_column(column, justify="right" if "ms" in column or "/" in column else "left")
    for dialect, load_seconds, results in runs:
        for name, fast, slow in results:
            table.add_row(dialect, name, f"{fast:.1f}", f"{slow:.1f}", f"{slow / fast:.1f}x")
        if load_seconds:
            rate = args.records / load_seconds
            table.add_row(dialect, f"(load: {load_seconds:.0f} s, {rate:,.0f} records/s)", "", "", "")
    console.print(table)
    console.print(f"rows: {json.dumps([[d, n, round(f, 1), round(r, 1)] for d, _l, res in runs for n, f, r in res])}")


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
