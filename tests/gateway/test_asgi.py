"""The raw ASGI helpers of the hot path, against a recording `send`: what the server is handed."""

from __future__ import annotations

import asyncio
from typing import Any

from covey.gateway import asgi


def sent_by(body: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(body(send))
    return messages


def test_a_streams_last_bytes_and_its_end_go_in_one_message() -> None:
    async def body(send: Any) -> None:
        await asgi.start_sse(send)
        await asgi.send_chunk(send, b"data: 1\n\n")
        await asgi.end_body(send, b"data: [DONE]\n\n")

    messages = sent_by(body)
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body", "http.response.body"]
    assert messages[1]["more_body"] is True
    assert messages[2]["body"] == b"data: [DONE]\n\n"
    assert not messages[2].get("more_body", False)


def test_an_end_without_last_bytes_is_an_empty_final_message() -> None:
    async def body(send: Any) -> None:
        await asgi.end_body(send)

    assert sent_by(body) == [{"type": "http.response.body", "body": b""}]
