"""Who is charged (docs/design.md §3), what it cost (genai-prices), and what the usage record keeps."""

from __future__ import annotations

import httpx
from genai_prices import Usage, calc_price
from sqlalchemy import select

from covey.kit.money import to_nanos
from covey.models import UsageCharge
from tests.gateway.conftest import Sdk, World, wait_until_served

HELLO = [{"role": "user", "content": "what does this cost?"}]


def test_group_key_charges_group_and_ancestors_once_personal_key_none(gateway: str, sdk: Sdk, world: World) -> None:
    engineering = world.group("Engineering")
    backend = world.group("Backend Engineers", parent_id=engineering)
    dev = world.org.user()
    world.member(backend, dev)
    team_key, team_secret = world.key(dev, group_id=backend)
    own_key, own_secret = world.key(dev)
    wait_until_served(gateway, team_secret)
    wait_until_served(gateway, own_secret)
    sdk.openai(team_secret).chat.completions.create(model="up/gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    sdk.openai(own_secret).chat.completions.create(model="up/gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]

    (team,) = world.records(team_key, count=1)
    assert team.group_id == backend and team.charged_groups == [backend, engineering]
    assert team.user_id == dev and team.org_id == world.org.id
    with world.db.sessions() as session:
        charges = session.scalars(select(UsageCharge).where(UsageCharge.usage_id == team.id)).all()
    assert sorted((c.group_id, c.depth, c.cost_nanos) for c in charges) == sorted(
        [(backend, 0, team.cost_nanos), (engineering, 1, team.cost_nanos)]
    )
    (own,) = world.records(own_key, count=1)
    assert own.group_id is None and own.charged_groups == []
    with world.db.sessions() as session:
        assert session.scalars(select(UsageCharge).where(UsageCharge.usage_id == own.id)).all() == []


def test_recorded_cost_is_genai_prices_figure(gateway: str, sdk: Sdk, world: World) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    done = sdk.openai(secret).chat.completions.create(model="up/gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    (record,) = world.records(key_id, count=1)
    assert record.model_used == "up/gpt-4o-mini" and record.provider_used == "up"
    assert done.usage is not None
    assert (record.input_tokens, record.output_tokens) == (done.usage.prompt_tokens, done.usage.completion_tokens)
    figure = calc_price(Usage(input_tokens=record.input_tokens, output_tokens=record.output_tokens), "gpt-4o-mini")
    assert record.cost_nanos == to_nanos(figure.total_price) > 0
    assert (done.usage.model_extra or {})["cost"] == float(figure.total_price)


def test_metadata_and_headers_are_dimensions_not_forwarded(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client
) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    sdk.openai(secret, default_headers={"X-Covey-Team": "search", "X-Requesty-App": "cli"}).chat.completions.create(
        model="up/gpt-4o-mini",
        messages=HELLO,  # type: ignore[arg-type]
        extra_body={"requesty": {"tags": ["a", "b"], "user_id": "end-7", "trace_id": "tr-1", "extra": {"ticket": 9}}},
    )
    (record,) = world.records(key_id, count=1)
    assert record.tags == ["a", "b"] and record.end_user_id == "end-7" and record.trace_id == "tr-1"
    assert record.extra == {"ticket": 9}
    assert record.dimensions == {"team": "search", "app": "cli"}
    assert record.request_body is None and record.response_body is None  # the key's logging flag is off
    last = upstream_control.get("/_mock/last").json()
    assert "requesty" not in last["body"]
    assert not any(h.startswith(("x-covey", "x-requesty")) for h in last["headers"])
    assert secret not in str(last["headers"])


def test_logging_flag_keeps_prompt_and_answer(gateway: str, sdk: Sdk, world: World) -> None:
    key_id, secret = world.key(logging=True)
    wait_until_served(gateway, secret)
    sdk.openai(secret).chat.completions.create(model="mock/gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    chunks = sdk.openai(secret).chat.completions.create(model="mock/gpt-4o-mini", messages=HELLO, stream=True)  # type: ignore[arg-type]
    list(chunks)
    plain, streamed = world.records(key_id, count=2)
    assert "what does this cost?" in (plain.request_body or "")
    assert "mock answer" in (plain.response_body or "")
    assert streamed.stream and "mock" in (streamed.response_body or "") and streamed.ttft_ms is not None


def test_embeddings_are_metered(gateway: str, sdk: Sdk, world: World) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    sdk.openai(secret).embeddings.create(model="mock/text-embedding-3-small", input="twelve characters")
    (record,) = world.records(key_id, count=1)
    assert record.endpoint == "embeddings" and record.input_tokens == 5 and record.features == ["embeddings"]
    assert record.cost_nanos == 5 * 20  # $0.02 per million tokens
