"""Concurrent clients against running gateways, and reading back what was recorded."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import func, select

from covey.kit.db import Database
from covey.models import UsageRecord

CHAT = {"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 64}


async def _hammer(urls: list[str], secret: str, clients: int, each: int, body: dict[str, Any]) -> list[tuple[int, str]]:
    headers = {"Authorization": f"Bearer {secret}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def client(n: int) -> list[tuple[int, str]]:
            out = []
            for _ in range(each):
                response = await http.post(f"{urls[n % len(urls)]}/v1/chat/completions", json=body, headers=headers)
                message = response.json().get("error", {}).get("message", "") if response.status_code != 200 else ""
                out.append((response.status_code, message))
            return out

        results = await asyncio.gather(*(client(n) for n in range(clients)))
    return [r for rs in results for r in rs]


def hammer(
    urls: list[str], secret: str, *, clients: int = 64, each: int = 4, body: dict[str, Any] = CHAT
) -> list[tuple[int, str]]:
    return asyncio.run(_hammer(urls, secret, clients, each, body))


def recorded(db: Database, key_id: str, *, count: int, tries: int = 400) -> tuple[int, int]:
    """(records, spend) of a key once `count` records are written."""
    for _ in range(tries):
        with db.sessions() as session:
            n, spend = session.execute(
                select(func.count(), func.coalesce(func.sum(UsageRecord.cost_nanos), 0)).where(
                    UsageRecord.key_id == key_id
                )
            ).one()
        if n >= count:
            return int(n), int(spend)
        time.sleep(0.025)
    raise AssertionError(f"only {n} of {count} usage records written")


def wait_served(url: str, secret: str) -> None:
    """Until the key is in the gateway's snapshot, then a few poll intervals more: the budget lines are
    reloaded on the same revision counter, by a loop of their own."""
    for _ in range(400):
        if httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {secret}"}).status_code == 200:
            time.sleep(0.3)
            return
        time.sleep(0.025)
    raise AssertionError("the key never reached the gateway's snapshot")
