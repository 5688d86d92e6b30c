from __future__ import annotations

import httpx

from tests.gateway.conftest import World, wait_until_served


def test_plain_chat_through_mock_provider(gateway: str, world: World) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    response = httpx.post(
        f"{gateway}/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "mock/gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "mock/gpt-4o-mini"
    assert body["usage"]["cost"] > 0
    records = world.records(key_id, count=1)
    assert records[0].status == 200 and records[0].cost_nanos > 0
