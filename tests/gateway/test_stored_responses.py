"""Stored responses through the official `openai` SDK: `store` (on by default), `previous_response_id`,
`responses.retrieve` and `responses.delete`, for every upstream dialect; only the keys of the owner
who made a response, in its org, reach it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from covey.kit.clock import utcnow
from covey.models import StoredResponse
from covey.response_store.store import prune
from tests.gateway.conftest import Sdk, World, make_world, wait_until_served

MODELS = ["up/gpt-4o-mini", "claude/claude-sonnet-4-20250514", "native/gpt-4o-mini", "mock/gpt-4o-mini"]


@pytest.fixture
def secret(gateway: str, world: World) -> str:
    _, made = world.key()
    wait_until_served(gateway, made)
    return made


def upstream_prompt(control: httpx.Client) -> str:
    """Every text the upstream was last sent, whatever its API."""
    last = control.get("/_mock/last").json()
    return str(last["body"].get("messages") or last["body"].get("input"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_conversation_continues_from_its_stored_response(
    sdk: Sdk, secret: str, upstream_control: httpx.Client, model: str, stream: bool
) -> None:
    client = sdk.openai(secret)

    def ask(**fields: Any) -> Any:
        if not stream:
            return client.responses.create(model=model, **fields)
        with client.responses.stream(model=model, **fields) as events:
            return events.get_final_response()

    first = ask(instructions="Answer briefly.", input="My name is Ada Lovelace")
    assert first.store is True and first.id.startswith("resp_") and first.previous_response_id is None
    second = ask(input=[{"role": "user", "content": "What is my name?"}], previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.id != first.id
    if not model.startswith("mock/"):  # the in-process mock has no upstream to look at
        sent = upstream_prompt(upstream_control)
        assert "My name is Ada Lovelace" in sent and first.output_text in sent and "What is my name?" in sent
        assert "Answer briefly." not in sent  # instructions are not carried to the next response
    third = ask(input="And again?", previous_response_id=second.id)  # a chain: both turns before it
    if not model.startswith("mock/"):
        sent = upstream_prompt(upstream_control)
        assert "My name is Ada Lovelace" in sent and "What is my name?" in sent and "And again?" in sent
    again = client.responses.retrieve(third.id)
    assert again.id == third.id and again.output_text == third.output_text and again.model == model
    assert again.usage is not None and third.usage is not None
    assert again.usage.output_tokens == third.usage.output_tokens


def test_a_deleted_response_is_gone(sdk: Sdk, secret: str) -> None:
    client = sdk.openai(secret)
    done = client.responses.create(model="up/gpt-4o-mini", input="remember me")
    assert client.responses.retrieve(done.id).id == done.id
    client.responses.delete(done.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(done.id)
    with pytest.raises(openai.NotFoundError, match="previous_response_id"):
        client.responses.create(model="up/gpt-4o-mini", input="hi", previous_response_id=done.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(done.id)


def test_store_false_keeps_nothing(sdk: Sdk, world: World, secret: str) -> None:
    client = sdk.openai(secret)
    for stream in (False, True):
        done: Any
        if stream:
            with client.responses.stream(model="native/gpt-4o-mini", input="forget me", store=False) as events:
                done = events.get_final_response()
        else:
            done = client.responses.create(model="up/gpt-4o-mini", input="forget me", store=False)
        assert done.store is False
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(done.id)
        with world.db.sessions() as session:
            assert session.get(StoredResponse, done.id) is None


def test_only_the_owners_keys_in_its_org_reach_a_response(
    gateway: str, sdk: Sdk, world: World, client: Any, secret: str
) -> None:
    done = sdk.openai(secret).responses.create(model="up/gpt-4o-mini", input="mine")
    _, same_owner = world.key()
    colleague = world.org.user()
    _, colleagues = world.key(colleague)
    elsewhere = make_world(client, world.db)
    _, other_org = elsewhere.key()
    for made in (same_owner, colleagues, other_org):
        wait_until_served(gateway, made)
    assert sdk.openai(same_owner).responses.retrieve(done.id).id == done.id
    for stranger in (colleagues, other_org):
        reach = sdk.openai(stranger)
        with pytest.raises(openai.NotFoundError):
            reach.responses.retrieve(done.id)
        with pytest.raises(openai.NotFoundError):
            reach.responses.delete(done.id)
        with pytest.raises(openai.NotFoundError, match="previous_response_id"):
            reach.responses.create(model="up/gpt-4o-mini", input="hi", previous_response_id=done.id)
    assert sdk.openai(secret).responses.retrieve(done.id).id == done.id  # nobody else deleted it
    with pytest.raises(openai.AuthenticationError):
        sdk.openai("cvy_wrong").responses.retrieve(done.id)


def test_bad_ids_are_refused_in_openais_shape(gateway: str, secret: str) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    for path in (
        "/v1/responses/",
        "/v1/responses/resp_nope",
        "/v1/responses/a/b",
        "/v1/responses/a%00b",
        "/v1/responses/" + "r" * 300,
    ):
        for method in ("GET", "DELETE"):
            answer = httpx.request(method, gateway + path, headers=headers)
            assert answer.status_code == 404 and answer.json()["error"]["message"]
    answer = httpx.post(
        gateway + "/v1/responses",
        headers=headers,
        json={"model": "up/gpt-4o-mini", "input": "hi", "previous_response_id": "resp_\u0000" + "x" * 100},
    )
    assert answer.status_code == 404 and "previous_response_id" in answer.json()["error"]["message"]
    answer = httpx.post(
        gateway + "/v1/responses", headers=headers, json={"model": "up/gpt-4o-mini", "input": "hi", "store": "yes"}
    )
    assert answer.status_code == 400 and "store" in answer.json()["error"]["message"]
    for bad in (7, "", ["resp_1"]):
        answer = httpx.post(
            gateway + "/v1/responses",
            headers=headers,
            json={"model": "up/gpt-4o-mini", "input": "hi", "previous_response_id": bad},
        )
        assert answer.status_code == 400 and "previous_response_id" in answer.json()["error"]["message"]


def test_stored_responses_go_with_the_usage_retention(sdk: Sdk, world: World, secret: str) -> None:
    client = sdk.openai(secret)
    done = client.responses.create(model="up/gpt-4o-mini", input="old news")
    assert prune(world.db, older_than=utcnow() - timedelta(days=1), org_id=world.org.id) == 0
    assert client.responses.retrieve(done.id).id == done.id
    assert prune(world.db, older_than=utcnow() + timedelta(days=1), org_id=world.org.id) >= 1
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(done.id)
    with world.db.sessions() as session:
        left = session.scalars(select(StoredResponse.id).where(StoredResponse.org_id == world.org.id)).all()
    assert left == []


def test_a_stored_conversation_keeps_only_masked_text(gateway: str, sdk: Sdk, world: World) -> None:
    _, secret = world.key(guardrails={"pii": "mask"})
    wait_until_served(gateway, secret)
    client = sdk.openai(secret)
    done = client.responses.create(model="up/gpt-4o-mini", input="Write to ada@example.com please")
    with world.db.sessions() as session:
        row = session.get(StoredResponse, done.id)
        assert row is not None
        kept = str(row.input) + str(row.response)
    assert "ada@example.com" not in kept and "[EMAIL REDACTED]" in kept
    follow = client.responses.create(model="up/gpt-4o-mini", input="and again", previous_response_id=done.id)
    assert follow.previous_response_id == done.id


def test_the_input_items_of_a_stored_response(gateway: str, sdk: Sdk, secret: str) -> None:
    client = sdk.openai(secret)
    first = client.responses.create(model="up/gpt-4o-mini", instructions="Be brief.", input="My name is Ada")
    second = client.responses.create(model="up/gpt-4o-mini", input="What is my name?", previous_response_id=first.id)
    newest_first = client.responses.input_items.list(second.id)
    roles = [(item.type, getattr(item, "role", None)) for item in newest_first]
    assert roles == [("message", "user"), ("message", "assistant"), ("message", "user")]
    texts = [item.model_dump()["content"][0]["text"] for item in newest_first]
    assert texts == ["What is my name?", first.output_text, "My name is Ada"]
    oldest = client.responses.input_items.list(second.id, order="asc", limit=1)
    assert [item.model_dump()["content"][0]["text"] for item in oldest.data] == ["My name is Ada"]
    assert oldest.has_more
    # The SDK pages on with `after`: every item once, in order.
    assert [item.id for item in oldest] == [item.id for item in reversed(list(newest_first))]
    headers = {"Authorization": f"Bearer {secret}"}
    for query in ("order=sideways", "limit=0", "limit=x", "after=nope"):
        answer = httpx.get(f"{gateway}/v1/responses/{second.id}/input_items?{query}", headers=headers)
        assert answer.status_code == 400 and query.split("=")[0] in answer.json()["error"]["message"]
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list("resp_" + "0" * 32)
