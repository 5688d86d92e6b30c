"""Covey's CPU per request on `POST /v1/responses`, beside chat completions, in one run against the mock
upstream: a Responses request translated to chat (`up`), sent as it came to an upstream that serves
the Responses API (`native`), each plain and streamed, with `store: false` and with the answer stored
(`store` on, the API's default: one database write per request), and a request continuing a stored
response (`previous_response_id`: one read and one write).

One Covey process (uvicorn, one worker, SQLite), the bench key under every check (`gateway.seed`).
CPU per request is the robust figure on a shared machine; requests/s is printed for reference only.

    python bench/responses.py [--requests 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from gateway import covey_command, cpu_seconds, free_port, process, seed

from covey.kit.db import Database
from covey.migrations import runner

MODEL = "gpt-4o-mini"
PROMPT = "Hello! How are you today?"


def cases(previous: str) -> dict[str, tuple[str, dict[str, object]]]:
    chat = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64}
    plain = {"input": PROMPT, "max_output_tokens": 64, "store": False}
    return {
        "chat completions (up)": ("/v1/chat/completions", {"model": f"up/{MODEL}", **chat}),
        "responses, translated (up)": ("/v1/responses", {"model": f"up/{MODEL}", **plain}),
        "responses, native": ("/v1/responses", {"model": f"native/{MODEL}", **plain}),
        "responses, translated, streamed": ("/v1/responses", {"model": f"up/{MODEL}", **plain, "stream": True}),
        "responses, native, streamed": ("/v1/responses", {"model": f"native/{MODEL}", **plain, "stream": True}),
        "responses, native, stored": ("/v1/responses", {"model": f"native/{MODEL}", **plain, "store": True}),
        "responses, native, continued": (
            "/v1/responses",
            {"model": f"native/{MODEL}", **plain, "store": True, "previous_response_id": previous},
        ),
    }


async def drive(url: str, body: bytes, headers: dict[str, str], concurrency: int, total: int) -> float:
    remaining = total

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.post(url, data=body) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{url} answered {resp.status}: {await resp.text()}")

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started


async def first_response(base: str, headers: dict[str, str]) -> str:
    body = {"model": f"native/{MODEL}", "input": PROMPT, "max_output_tokens": 64}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(base + "/v1/responses", json=body) as resp,
    ):
        return str(orjson.loads(await resp.read())["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mock_port, port = free_port(), free_port()
        config = work / "covey.toml"
        upstream = f"http://127.0.0.1:{mock_port}/v1"
        config.write_text(
            f'[providers.up]\nkind = "openai"\nbase_url = "{upstream}"\nmodels = ["{MODEL}"]\n\n'
            f'[providers.native]\nkind = "openai"\nbase_url = "{upstream}"\nresponses = true\nmodels = ["{MODEL}"]\n'
        )
        url = f"sqlite:///{work / 'covey.db'}"
        db = Database.connect(url)
        runner.upgrade(db.engine)
        secret = seed(db, [f"up/{MODEL}", f"native/{MODEL}"])
        env = {**os.environ, "COVEY_DATABASE_URL": url, "COVEY_CONFIG": str(config)}
        mock_cmd = [sys.executable, "-m", "covey.gateway.mock_upstream", "--port", str(mock_port)]
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        with process(mock_cmd, dict(os.environ), mock_port), process(covey_command(port), env, port) as covey:
            base = f"http://127.0.0.1:{port}"
            previous = asyncio.run(first_response(base, headers))
            load = os.getloadavg()[0]
            print(f"load average {load:.1f}; {args.requests} requests each at concurrency {args.concurrency}")
            print(f"{'case':34} {'CPU µs/request':>15} {'requests/s':>11}")
            for name, (path, body) in cases(previous).items():
                raw = orjson.dumps(body)
                asyncio.run(drive(base + path, raw, headers, args.concurrency, args.concurrency * 4))  # warm up
                before = cpu_seconds(covey.pid)
                elapsed = asyncio.run(drive(base + path, raw, headers, args.concurrency, args.requests))
                used = cpu_seconds(covey.pid) - before
                print(f"{name:34} {used / args.requests * 1e6:15.0f} {args.requests / elapsed:11.0f}")
        db.dispose()


if __name__ == "__main__":
    main()
