"""Long streams from a slow model, many at once: the bare mock upstream and Covey in front of it, in one run.

The mock upstream answers after `--latency-ms` and streams `--stream-chunks` content chunks, each in a
write of its own. Covey runs as one uvicorn worker on SQLite with every check on (a key in a group with
an access list and hard budget lines, metering, usage records). A closed-loop load generator (its own
processes, raw HTTP/1.1 on kept-alive connections) holds each level of concurrent streams for
`--seconds`, first straight to the mock, then through Covey, for a pass-through stream (OpenAI caller,
OpenAI upstream) and a translated one (OpenAI caller, Anthropic upstream). It prints streams/s, p50/p99
of the whole stream, p50 time to first event, events/s, Covey's CPU per relayed event and its RSS.
First it times the relay alone, in process: CPU per event passed through, re-serialized, translated.

    python bench/streams.py [--concurrency 256 1024 4096] [--seconds 8] [--latency-ms 300] [--stream-chunks 20]
    python bench/streams.py --relay-only
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvloop
from gateway import covey_command, cpu_seconds, free_port, process, profiled, seed

from covey.gateway.bridges import AnthropicToOpenAI, OpenAIPassthrough
from covey.gateway.relay import Converted, OpenAIRelay, openai_frame
from covey.gateway.sse import Parser
from covey.kit.db import Database, make_engine
from covey.migrations import runner

OPENAI_MODEL, CLAUDE_MODEL = "gpt-4o-mini", "claude-sonnet-4-20250514"
HELLO = [{"role": "user", "content": "Hello! Tell me about streams."}]


@dataclass(frozen=True)
class Kind:
    name: str
    direct_path: str
    direct_body: bytes
    covey_body: bytes


KINDS = [
    Kind(
        "pass-through (OpenAI → OpenAI)",
        "/v1/chat/completions",
        orjson.dumps({"model": OPENAI_MODEL, "messages": HELLO, "stream": True, "max_tokens": 200}),
        orjson.dumps({"model": f"up/{OPENAI_MODEL}", "messages": HELLO, "stream": True, "max_tokens": 200}),
    ),
    Kind(
        "translated (OpenAI → Anthropic)",
        "/v1/messages",
        orjson.dumps({"model": CLAUDE_MODEL, "messages": HELLO, "stream": True, "max_tokens": 200}),
        orjson.dumps({"model": f"claude/{CLAUDE_MODEL}", "messages": HELLO, "stream": True, "max_tokens": 200}),
    ),
]


@dataclass
class Tally:
    """What one load process saw inside the measured window."""

    latencies: list[float]
    ttfts: list[float]
    events: int
    errors: int


class _Stream(asyncio.Protocol):
    """One kept-alive connection asking for one stream after another, noting when each began, when its
    first event came and when it ended (the chunked body's last chunk)."""

    def __init__(self, request: bytes, tally: Tally, window: tuple[float, float], done: asyncio.Future[None]) -> None:
        self.request = request
        self.tally = tally
        self.window = window
        self.done = done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._ask()

    def _ask(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.events = 0
        self.head = True
        self.tail = b""
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        seen = self.tail + data
        if self.head:
            if not seen.startswith(b"HTTP/1.1 200"):
                self.tally.errors += 1
                self._close()
                return
            self.head = False
        found = seen.count(b"data:")
        if found and self.first is None:
            self.first = now
        self.events += found
        self.tail = seen[-6:]
        if seen.endswith(b"\r\n0\r\n\r\n"):
            start, end = self.window
            if start <= self.started and now <= end:
                self.tally.latencies.append(now - self.started)
                self.tally.ttfts.append((self.first or now) - self.started)
                self.tally.events += self.events
            if now >= end:
                self._close()
            else:
                self._ask()

    def _close(self) -> None:
        assert self.transport is not None
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _load(port: int, request: bytes, connections: int, window: tuple[float, float]) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally([], [], 0, 0)
    waits: list[asyncio.Future[None]] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda d=done: _Stream(request, tally, window, d), "127.0.0.1", port)  # type: ignore[misc]
        except OSError:
            tally.errors += 1
            continue
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), timeout=window[1] - time.perf_counter() + 60)
    return tally


def _load_process(args: tuple[int, bytes, int, tuple[float, float]]) -> Tally:
    uvloop.install()
    return asyncio.run(_load(*args))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Level:
    concurrency: int
    rps: float
    p50: float
    p99: float
    ttft: float
    events: float
    cpu_event: float  # µs of the server's CPU per event relayed
    cpu_stream: float  # µs of the server's CPU per stream served
    rss: float
    errors: int
    streams: int


def measure(
    pid: int, port: int, path: str, body: bytes, headers: str, concurrency: int, args: argparse.Namespace
) -> Level:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    clients = args.clients
    warm = max(2.0, args.latency_ms / 1000 * 4)
    start = time.perf_counter() + warm + 1.0  # perf_counter is system-wide on Linux: one clock for all
    window = (start, start + args.seconds)
    shares = [concurrency // clients + (1 if i < concurrency % clients else 0) for i in range(clients)]
    cpu_start = cpu_at = 0.0
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        pending = pool.map_async(_load_process, [(port, request, n, window) for n in shares])
        while time.perf_counter() < start:
            time.sleep(0.01)
        cpu_start = cpu_seconds(pid)
        while time.perf_counter() < window[1]:
            time.sleep(0.01)
        cpu_at = cpu_seconds(pid)
        rss = _rss_mb(pid)
        tallies = pending.get(timeout=args.seconds + 120)
    latencies = sorted(x for t in tallies for x in t.latencies)
    ttfts = sorted(x for t in tallies for x in t.ttfts)
    events = sum(t.events for t in tallies)
    errors = sum(t.errors for t in tallies)
    if not latencies:
        return Level(concurrency, 0, 0, 0, 0, 0, 0, 0, rss, errors, 0)
    return Level(
        concurrency=concurrency,
        rps=len(latencies) / args.seconds,
        p50=statistics.median(latencies) * 1000,
        p99=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        ttft=statistics.median(ttfts) * 1000,
        events=events / args.seconds,
        cpu_event=(cpu_at - cpu_start) / max(events, 1) * 1e6,
        cpu_stream=(cpu_at - cpu_start) / len(latencies) * 1e6,
        rss=rss,
        errors=errors,
        streams=len(latencies),
    )


def relay_costs(rounds: int = 2000) -> list[tuple[str, float]]:
    """CPU per event of the relay alone, in this process (no sockets): µs to parse and relay one event."""
    chunk = {"id": "chatcmpl-0123456789abcdef01234567", "object": "chat.completion.chunk", "created": 1733000000}
    chunk["model"] = OPENAI_MODEL
    openai = b"".join(
        b"data: " + orjson.dumps({**chunk, "choices": [{"index": 0, "delta": {"content": f" word{i}"}}]}) + b"\n\n"
        for i in range(20)
    )
    anthropic = b"".join(
        b"event: content_block_delta\ndata: "
        + orjson.dumps(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f" word{i}"}}
        )
        + b"\n\n"
        for i in range(20)
    )
    ways = [
        ("pass-through: event bytes relayed", openai, lambda: OpenAIRelay(f"up/{OPENAI_MODEL}")),
        (
            "pass-through, parsed and re-serialized (as with guardrails on)",
            openai,
            lambda: Converted(OpenAIPassthrough(f"up/{OPENAI_MODEL}", {}), openai_frame),
        ),
        (
            "translated: Anthropic events to OpenAI chunks",
            anthropic,
            lambda: Converted(AnthropicToOpenAI("c", {}), openai_frame),
        ),
    ]
    out = []
    for name, stream, make in ways:
        started = time.process_time()
        for _ in range(rounds):
            relay = make()
            for event in Parser().feed(stream):
                relay.feed(event)
        out.append((name, (time.process_time() - started) / (rounds * 20) * 1e6))
    return out


def raise_file_limit() -> int:
    """Thousands of streams, each two sockets in Covey: lift the soft limit on open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="Long concurrent streams: Covey vs the bare mock upstream")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--seconds", type=float, default=8.0, help="the measured window of each level")
    parser.add_argument("--latency-ms", type=float, default=300)
    parser.add_argument("--stream-chunks", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2, help="load-generating processes")
    parser.add_argument(
        "--kinds", choices=["pass-through", "translated"], nargs="+", default=["pass-through", "translated"]
    )
    parser.add_argument("--relay-only", action="store_true", help="only the relay's own CPU per event")
    parser.add_argument("--profile", type=Path, help="record Covey's worker with py-spy into this file (folded stacks)")
    args = parser.parse_args()
    for name, micros in relay_costs():
        print(f"relay alone, {name}: {micros:.1f} µs of CPU per event", flush=True)
    if args.relay_only:
        return
    limit = raise_file_limit()
    if limit < 2 * max(args.concurrency) + 1000:
        sys.exit(f"open files limited to {limit}: too few for {max(args.concurrency)} streams")
    with tempfile.TemporaryDirectory(prefix="covey-streams-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> None:
    database_url = f"sqlite:///{work / 'covey.db'}"
    runner.upgrade(make_engine(database_url))
    db = Database.connect(database_url)
    secret = seed(db, models=[f"up/{OPENAI_MODEL}", f"claude/{CLAUDE_MODEL}"])
    db.dispose()
    mock_port, covey_port = free_port(), free_port()
    config = work / "covey.toml"
    upstream = f"http://127.0.0.1:{mock_port}/v1"
    config.write_text(
        f'[providers.up]\nkind = "openai"\nbase_url = "{upstream}"\nmodels = ["{OPENAI_MODEL}"]\n'
        f'[providers.claude]\nkind = "anthropic"\nbase_url = "{upstream}"\nmodels = ["{CLAUDE_MODEL}"]\n'
    )
    env = {**os.environ, "COVEY_DATABASE_URL": database_url, "COVEY_CONFIG": str(config)}
    mock_cmd = [sys.executable, "-m", "covey.gateway.mock_upstream", "--port", str(mock_port)]
    mock_cmd += ["--latency-ms", str(args.latency_ms), "--stream-chunks", str(args.stream_chunks)]
    auth = f"Authorization: Bearer {secret}\r\n"
    chosen = [k for k in KINDS if k.name.split(" ")[0] in args.kinds]
    results: list[tuple[Kind, Level, Level]] = []
    with (
        process(mock_cmd, env, mock_port) as mock,
        process([*covey_command(covey_port), "--backlog", "8192"], env, covey_port) as covey,
    ):
        for kind in chosen:
            for concurrency in args.concurrency:
                bare = measure(mock.pid, mock_port, kind.direct_path, kind.direct_body, "", concurrency, args)
                with profiled(covey.pid, args.profile):
                    ours = measure(
                        covey.pid, covey_port, "/v1/chat/completions", kind.covey_body, auth, concurrency, args
                    )
                results.append((kind, bare, ours))
                print(f"  {kind.name} at {concurrency}: mock {bare.rps:.0f}/s, covey {ours.rps:.0f}/s", flush=True)
    report(results, args)


def report(results: list[tuple[Kind, Level, Level]], args: argparse.Namespace) -> None:
    print(f"\nmock upstream: {args.latency_ms:.0f} ms to the first byte, {args.stream_chunks} content chunks a stream; "
          f"{args.seconds:.0f} s measured per row, closed loop")  # fmt: skip
    head = f"{'conc':>5} | {'mock/s':>7} {'p50':>6} {'p99':>6} | {'covey/s':>7} {'p50':>6} {'p99':>6} {'ttft':>6} "
    head += f"{'events/s':>8} {'µs/ev':>6} {'µs/st':>6} {'RSS MB':>6} {'errors':>6} | "
    head += f"{'ratio':>5} {'+p50 ms':>7} {'+ttft':>6}"
    for name in dict.fromkeys(k.name for k, _, _ in results):
        print(f"\n{name}\n{head}")
        for _, m, c in (r for r in results if r[0].name == name):
            print(
                f"{c.concurrency:>5} | {m.rps:>7.0f} {m.p50:>6.0f} {m.p99:>6.0f} | "
                f"{c.rps:>7.0f} {c.p50:>6.0f} {c.p99:>6.0f} "
                f"{c.ttft:>6.0f} {c.events:>8.0f} {c.cpu_event:>6.1f} {c.cpu_stream:>6.0f} {c.rss:>6.0f} "
                f"{c.errors + m.errors:>6} | "
                f"{c.rps / m.rps if m.rps else 0:>5.2f} {c.p50 - m.p50:>+7.1f} {c.ttft - m.ttft:>+6.1f}"
            )
    print("\nms throughout; ttft: the caller's time to the first event; µs/ev, µs/st: Covey's CPU per event relayed, "
          "per stream served")  # fmt: skip
    print(f"bar: at 1,024 streams >= 0.90 of the mock's rate and <= +20 ms p50; at 4,096 no errors "
          f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip


if __name__ == "__main__":
    main()
