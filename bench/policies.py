"""What rate limits and guardrails add to a request, measured side by side in one run.

1. In process: the guardrail screen on request bodies of several sizes (with and without findings),
   and the stream masker per chunk of text and of tool-call arguments (JSON) — microseconds per call.
2. Over HTTP, against the bare mock upstream: one Covey (SQLite, windows in process) serving four keys
   — plain, with every guardrail on, with rate limits on (all three kinds, never reached), and with
   both — one request at a time; the table gives the median latency and what Covey adds to the bare
   upstream, and what the policies add to the plain key, then the CPU per request: the process's
   (client, mock and Covey share it), Covey's (less the bare upstream's run) and the policies' (less
   the plain key's). CPU time is the robust figure on a busy machine; latency is not.

    python bench/policies.py [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from covey.app import create_app
from covey.config import Settings
from covey.gateway.mock_upstream import MockUpstream
from covey.guardrails.masking import Screen
from covey.kit.db import Database, make_engine
from covey.migrations import runner
from covey.orgs.bootstrap import create_org
from tests.gateway.servers import serve

ALL = {"pii": "mask", "secrets": "mask", "financial": "mask"}
PROSE = "Please summarize the quarterly report and list the three main risks for the next quarter. "
PII = "Contact alice.smith@example.com or +1 415 555 0132; card 4111 1111 1111 1111. "


def _body(text: str) -> dict[str, object]:
    return {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": text}], "max_tokens": 32}


def timed(fn: object, rounds: int) -> float:
    """Median microseconds of `fn()` over `rounds` calls."""
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t) * 1e6)
    return statistics.median(samples)


def in_process() -> None:
    print("guardrail screen, in process (median µs per request body)")
    for label, text in (
        ("100 B prose", PROSE),
        ("4 KB prose", PROSE * 45),
        ("4 KB with findings", (PROSE * 9 + PII) * 4),
        ("32 KB prose", PROSE * 360),
    ):

        def screen(text: str = text) -> None:
            Screen(ALL).request(_body(text))

        print(f"  {label:<20} {timed(screen, 200):10.1f}")
    text = (PROSE * 3 + PII) * 10
    chunks = [text[i : i + 8] for i in range(0, len(text), 8)]

    def stream() -> None:
        masker = Screen(ALL).stream()
        for c in chunks:
            masker.feed(0, c)
        masker.flush(0)

    per = timed(stream, 50) / len(chunks)
    print(f"  stream masker        {per:10.1f} per 8-character chunk")
    arguments = orjson.dumps({"to": "alice.smith@example.com", "note": PROSE * 3, "card": "4111 1111 1111 1111"})
    pieces = [arguments.decode()[i : i + 8] for i in range(0, len(arguments), 8)]

    def tool_stream() -> None:
        masker = Screen(ALL).stream()
        for c in pieces:
            masker.feed((0, 0), c, json=True)
        masker.flush((0, 0))

    per = timed(tool_stream, 50) / len(pieces)
    print(f"  tool arguments       {per:10.1f} per 8-character chunk of JSON")


def over_http(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, serve(MockUpstream(), lifespan="off") as upstream:
        config = Path(tmp) / "covey.toml"
        config.write_text(
            f'[providers.up]\nkind = "openai"\nbase_url = "{upstream}/v1"\nmodels = ["gpt-4o-mini"]\n'
            '[prices."up/gpt-4o-mini"]\ninput = 0.15\noutput = 0.6\n'
        )
        url = f"sqlite:///{tmp}/covey.db"
        runner.upgrade(make_engine(url))
        db = Database.connect(url)
        with db.transaction() as session:
            made = create_org(session, name="Bench", owner_email=f"o-{uuid.uuid4().hex[:6]}@example.com")
        db.dispose()
        settings = Settings(database_url=url, config=config, usage_flush_seconds=0.2)
        with serve(create_app(settings)) as covey, httpx.Client(timeout=30) as http:
            admin = {"Authorization": f"Bearer {made.api_key}"}
            limits = {"requests_per_minute": 10**8, "tokens_per_minute": 10**9, "concurrent": 10**4}
            keys = {}
            for name, extra in (
                ("plain", {}),
                ("guardrails", {"guardrails": ALL}),
                ("rate limits", {"rate_limits": limits}),
                ("both", {"guardrails": ALL, "rate_limits": limits}),
            ):
                made_key = http.post(f"{covey}/v1/manage/apikey", json={"name": name, **extra}, headers=admin)
                keys[name] = made_key.json()["api_key"]
            time.sleep(0.5)
            body = _body(PROSE * 4 + PII)

            def run(target: str, headers: dict[str, str]) -> tuple[float, float]:
                """The median latency (ms) and the process's CPU per request (µs)."""
                for _ in range(20):  # warm up
                    http.post(target, json=body, headers=headers)
                samples = []
                cpu = time.process_time()
                for _ in range(requests):
                    t = time.perf_counter()
                    r = http.post(target, json=body, headers=headers)
                    samples.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
                return statistics.median(samples), (time.process_time() - cpu) / requests * 1e6

            # Interleaved rounds, so drift on a noisy machine touches every row alike.
            rows: dict[str, list[tuple[float, float]]] = {"bare upstream": [], **{k: [] for k in keys}}
            for _ in range(3):
                rows["bare upstream"].append(run(f"{upstream}/v1/chat/completions", {}))
                for name, secret in keys.items():
                    rows[name].append(run(f"{covey}/v1/chat/completions", {"Authorization": f"Bearer {secret}"}))
        medians = {k: statistics.median(ms for ms, _ in v) for k, v in rows.items()}
        cpus = {k: statistics.median(us for _, us in v) for k, v in rows.items()}
        bare, plain = medians["bare upstream"], medians["plain"]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nover HTTP, one request at a time, {requests} requests × 3 rounds (load average {load})")
        print(
            f"  {'':<16}{'median ms':>10}{'vs bare':>9}{'vs plain':>10}{'CPU µs/req':>12}{'Covey':>8}{'vs plain':>10}"
        )
        for name, ms in medians.items():
            covey_cpu = cpus[name] - cpus["bare upstream"]
            if name == "bare upstream":
                print(f"  {name:<16}{ms:10.3f}{1:8.2f}×{'':>10}{cpus[name]:12.0f}")
                continue
            added = cpus[name] - cpus["plain"]
            print(
                f"  {name:<16}{ms:10.3f}{ms / bare:8.2f}×{ms - plain:+10.3f}"
                f"{cpus[name]:12.0f}{covey_cpu:8.0f}{added:+10.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    in_process()
    over_http(args.requests)


if __name__ == "__main__":
    main()
