"""What unmodified clients need beyond a completion: Anthropic's surface as Claude Code uses it
(betas, token counts, model lookups), embeddings in the encoding asked for, and Requesty's CLI
(numeric prices, the key check, the calling app as a usage dimension)."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from covey.config import load_gateway_config
from covey.gateway.catalog import Catalog
from covey.gateway.providers import ProviderContext, default_registry
from tests.gateway.conftest import Sdk, World, wait_until_served

HELLO: Any = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def key(gateway: str, world: World) -> tuple[str, str]:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    return key_id, secret


def test_betas_and_version_reach_anthropic_upstreams_only(
    sdk: Sdk, key: tuple[str, str], upstream_control: httpx.Client
) -> None:
    claude = sdk.anthropic(key[1])
    beta = "context-management-2025-06-27"
    claude.beta.messages.create(
        model="claude/claude-sonnet-4-20250514",
        max_tokens=20,
        messages=HELLO,
        betas=[beta],
    )
    sent = upstream_control.get("/_mock/last").json()
    assert sent["path"] == "/v1/messages" and sent["headers"]["anthropic-beta"] == beta
    # The caller's API version goes with it, and Covey's own when the caller names none.
    for given, expected in (("2023-01-01", "2023-01-01"), (None, "2023-06-01")):
        headers = {"x-api-key": key[1], **({"anthropic-version": given} if given else {})}
        body = {"model": "claude/claude-sonnet-4-20250514", "max_tokens": 20, "messages": HELLO}
        assert httpx.post(f"{claude.base_url}/v1/messages", headers=headers, json=body).status_code == 200
        assert upstream_control.get("/_mock/last").json()["headers"]["anthropic-version"] == expected
    with claude.beta.messages.stream(
        model="claude/claude-sonnet-4-20250514",
        max_tokens=20,
        messages=HELLO,
        betas=[beta],
    ) as stream:
        assert "hello there" in stream.get_final_text()
    assert upstream_control.get("/_mock/last").json()["headers"]["anthropic-beta"] == beta
    # Translated for an OpenAI-format upstream, Anthropic's headers mean nothing there and are not sent.
    claude.beta.messages.create(model="up/gpt-4o-mini", max_tokens=20, messages=HELLO, betas=[beta])
    sent = upstream_control.get("/_mock/last").json()
    assert sent["path"] == "/v1/chat/completions" and "anthropic-beta" not in sent["headers"]


def test_message_start_carries_input_tokens_from_an_openai_upstream(
    sdk: Sdk, world: World, key: tuple[str, str]
) -> None:
    key_id, secret = key
    with sdk.anthropic(secret).messages.stream(model="up/gpt-4o-mini", max_tokens=50, messages=HELLO) as stream:
        events = list(stream)
        final = stream.get_final_message()
    start = next(e for e in events if e.type == "message_start")
    assert start.message.usage.input_tokens > 0
    (record,) = world.records(key_id, count=1)
    # The record holds what the upstream reported, which the final message carries too.
    assert record.input_tokens == final.usage.input_tokens and record.output_tokens == final.usage.output_tokens


def test_count_tokens_for_a_model_the_key_may_use(gateway: str, sdk: Sdk, world: World, key: tuple[str, str]) -> None:
    key_id, secret = key
    claude = sdk.anthropic(secret)
    short = claude.messages.count_tokens(model="mock/gpt-4o-mini", messages=HELLO)
    longer = claude.messages.count_tokens(
        model="claude/claude-sonnet-4-20250514",
        system="You are terse.",
        messages=[{"role": "user", "content": "hello there " * 50}],
    )
    assert 0 < short.input_tokens < longer.input_tokens
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.count_tokens(model="up/nope", messages=HELLO)
    with pytest.raises(anthropic.AuthenticationError):
        sdk.anthropic("cvy_wrong").messages.count_tokens(model="mock/gpt-4o-mini", messages=HELLO)
    bad = httpx.post(
        f"{gateway}/v1/messages/count_tokens", headers={"x-api-key": secret}, json={"model": "mock/gpt-4o-mini"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    # Nothing charged, nothing recorded: the next real request is the key's first record.
    claude.messages.create(model="mock/gpt-4o-mini", max_tokens=20, messages=HELLO)
    assert [r.endpoint for r in world.records(key_id, count=1)] == ["messages"]


def test_models_in_every_clients_shape(gateway: str, sdk: Sdk, key: tuple[str, str]) -> None:
    secret = key[1]
    listed = sdk.anthropic(secret).models.list()
    ids = [m.id for m in listed.data]
    assert "mock/gpt-4o-mini" in ids and listed.has_more is False
    one = sdk.anthropic(secret).models.retrieve("claude/claude-sonnet-4-20250514")
    assert one.type == "model" and one.display_name and one.created_at.year == 1970
    assert sdk.openai(secret).models.retrieve("up/gpt-4o-mini").owned_by == "up"
    with pytest.raises(openai.NotFoundError):
        sdk.openai(secret).models.retrieve("up/nope")
    with pytest.raises(anthropic.NotFoundError):
        sdk.anthropic(secret).models.retrieve("up/nope")
    raw = httpx.get(f"{gateway}/v1/models", headers={"Authorization": f"Bearer {secret}"}).json()
    entry = next(m for m in raw["data"] if m["id"] == "mock/gpt-4o-mini")
    # Requesty's CLI decodes prices as numbers.
    assert entry["input_price"] == pytest.approx(0.15e-6) and entry["output_price"] == pytest.approx(0.6e-6)
    assert {"context_window", "max_output_tokens"} <= set(entry)
    sonnet = next(m for m in raw["data"] if m["id"] == "claude/claude-sonnet-4-20250514")
    assert isinstance(sonnet["context_window"], int) and sonnet["context_window"] > 0


def test_embeddings_in_the_encoding_asked_for(sdk: Sdk, key: tuple[str, str]) -> None:
    client = sdk.openai(key[1])
    for model in ("up/text-embedding-3-small", "mock/text-embedding-3-small"):
        floats = client.embeddings.create(model=model, input=["one", "two"], encoding_format="float")
        encoded = client.with_raw_response.embeddings.create(
            model=model, input=["one", "two"], encoding_format="base64"
        )
        data = encoded.http_response.json()["data"]
        for plain, packed in zip(floats.data, data, strict=True):
            assert isinstance(packed["embedding"], str)
            raw = base64.b64decode(packed["embedding"])
            decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
            assert decoded == pytest.approx(plain.embedding, rel=1e-6)
        # The SDK's default (it asks for base64 and decodes it) gives the same vectors.
        assert client.embeddings.create(model=model, input=["one", "two"]).data[0].embedding == pytest.approx(
            floats.data[0].embedding, rel=1e-6
        )
    with pytest.raises(openai.BadRequestError, match="encoding_format"):
        client.embeddings.create(model="mock/text-embedding-3-small", input="x", encoding_format="hex")  # type: ignore[arg-type]


def test_requesty_cli_key_check_and_origin_title(gateway: str, sdk: Sdk, world: World, key: tuple[str, str]) -> None:
    key_id, secret = key
    checked = httpx.get(f"{gateway}/v1/auth/check", headers={"Authorization": f"Bearer {secret}"})
    assert checked.status_code == 200 and checked.json()["valid"] is True and checked.json()["key_id"] == key_id
    assert httpx.get(f"{gateway}/v1/auth/check", headers={"Authorization": "Bearer cvy_wrong"}).status_code == 401
    assert httpx.get(f"{gateway}/v1/auth/check").status_code == 401
    client = sdk.openai(secret)
    client.chat.completions.create(model="mock/gpt-4o-mini", messages=HELLO, extra_headers={"X-Title": "Acme CLI"})
    client.chat.completions.create(
        model="mock/gpt-4o-mini",
        messages=HELLO,
        extra_headers={"HTTP-Referer": "https://tools.example"},
    )
    client.chat.completions.create(model="mock/gpt-4o-mini", messages=HELLO)
    records = world.records(key_id, count=3)
    assert sorted(r.dimensions.get("origin_title", "") for r in records) == ["", "Acme CLI", "https://tools.example"]
    now = datetime.now(UTC)
    params = {
        "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resolution": "day",
        "group_by": "origin_title",
    }
    answer = world.org.admin.get(f"/v1/manage/apikey/{key_id}/usage", params=params)
    assert answer.status_code == 200, answer.text
    titles: dict[str, int] = {}
    for entry in answer.json()["usage"].values():
        for group in entry["grouped_data"]:
            title = group["group_by_values"]["origin_title"]
            titles[title] = titles.get(title, 0) + group["total_requests"]
    assert titles == {"": 1, "Acme CLI": 1, "https://tools.example": 1}


def test_the_demo_models_say_their_limits(tmp_path: Path) -> None:
    config = load_gateway_config(tmp_path / "no-such.toml")  # no file: the built-in mock provider
    context = ProviderContext()
    catalog = Catalog.build(config, default_registry(), context)
    mini = catalog.models["mock/gpt-4o-mini"]
    assert (mini.context_window, mini.max_output_tokens) == (128_000, 16_384)
    context.close()
