"""`model: "policy/<name>"`: fallback chains with retries, weighted sticky load balancing."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Sdk, World, eventually, wait_until_served

HELLO = [{"role": "user", "content": "route me"}]


def make_policy(world: World, **body: Any) -> str:
    name = f"p-{uuid.uuid4().hex[:8]}"
    response = world.org.admin.post("/v1/manage/policy", json={"name": name, **body})
    assert response.status_code == 200, response.text
    return f"policy/{name}"


def call(gateway: str, secret: str, model: str, trace_id: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "messages": HELLO}
    if trace_id:
        body["requesty"] = {"trace_id": trace_id}
    return httpx.post(f"{gateway}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"}, json=body)


def served(gateway: str, secret: str, model: str) -> None:
    eventually(lambda: call(gateway, secret, model).status_code != 404)


@pytest.fixture
def secret_and_id(gateway: str, world: World) -> tuple[str, str]:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    return secret, key_id


def test_fallback_retries_then_moves_on_and_charges_only_the_serving_call(
    gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client, secret_and_id: tuple[str, str]
) -> None:
    secret, key_id = secret_and_id
    model = make_policy(world, type="fallback", targets=[{"model": "up/flaky", "retries": 2}, {"model": "up/steady"}])
    served(gateway, secret, model)
    upstream_control.post("/_mock/reset")
    upstream_control.post("/_mock/behaviour", json={"model": "flaky", "status": 500})
    done = sdk.openai(secret).chat.completions.create(model=model, messages=HELLO)  # type: ignore[arg-type]
    assert done.model == "up/steady"
    assert upstream_control.get("/_mock/calls").json() == {"flaky": 3, "steady": 1}
    record = world.records(key_id, count=2)[-1]
    assert record.model_requested == model and record.model_used == "up/steady" and record.attempts == 4
    assert done.usage is not None
    steady_cost = (done.usage.prompt_tokens * 3 + done.usage.completion_tokens * 4) * 1000  # $ per M → nanos
    assert record.cost_nanos == steady_cost


def test_caller_errors_are_not_retried(
    gateway: str, world: World, upstream_control: httpx.Client, secret_and_id: tuple[str, str]
) -> None:
    secret, _key_id = secret_and_id
    model = make_policy(world, type="fallback", targets=[{"model": "up/flaky", "retries": 5}, {"model": "up/steady"}])
    served(gateway, secret, model)
    upstream_control.post("/_mock/reset")
    upstream_control.post("/_mock/behaviour", json={"model": "flaky", "status": 400})
    assert call(gateway, secret, model).json()["model"] == "up/steady"
    assert upstream_control.get("/_mock/calls").json() == {"flaky": 1, "steady": 1}


def test_every_rung_failing_answers_the_last_error(
    gateway: str, world: World, upstream_control: httpx.Client, secret_and_id: tuple[str, str]
) -> None:
    secret, key_id = secret_and_id
    model = make_policy(world, type="fallback", targets=[{"model": "up/flaky"}, {"model": "up/steady"}])
    served(gateway, secret, model)
    upstream_control.post("/_mock/behaviour", json={"model": "flaky", "status": 500})
    upstream_control.post("/_mock/behaviour", json={"model": "steady", "status": 429})
    response = call(gateway, secret, model)
    assert response.status_code == 429 and response.json()["error"]["origin"] == "provider"
    assert world.records(key_id, count=2)[-1].cost_nanos == 0


def test_load_balancing_follows_weights_and_sticks_to_trace_ids(
    gateway: str, world: World, secret_and_id: tuple[str, str]
) -> None:
    secret, _key_id = secret_and_id
    model = make_policy(
        world, type="load_balancing", targets=[{"model": "up/alpha", "weight": 3}, {"model": "up/beta", "weight": 1}]
    )
    served(gateway, secret, model)
    with httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {secret}"}) as client:
        picks = Counter(
            client.post(
                "/v1/chat/completions",
                json={"model": model, "messages": HELLO, "requesty": {"trace_id": f"trace-{i}"}},
            ).json()["model"]
            for i in range(1000)
        )
        sticky = {
            client.post(
                "/v1/chat/completions", json={"model": model, "messages": HELLO, "requesty": {"trace_id": "same"}}
            ).json()["model"]
            for _ in range(20)
        }
    assert abs(picks["up/alpha"] / 1000 - 0.75) < 0.04, picks
    assert picks["up/alpha"] + picks["up/beta"] == 1000
    assert len(sticky) == 1


def test_policies_are_listed_and_respect_access_lists(gateway: str, world: World) -> None:
    model = make_policy(world, type="fallback", targets=[{"model": "up/alpha"}])
    blocked = world.access_list(f"no-alpha-{uuid.uuid4().hex[:6]}", chat=["up/beta"])
    _k1, open_secret = world.key()
    _k2, narrow_secret = world.key(access_list_id=blocked)
    wait_until_served(gateway, open_secret)
    wait_until_served(gateway, narrow_secret)
    served(gateway, open_secret, model)

    def ids(secret: str) -> set[str]:
        data = httpx.get(f"{gateway}/v1/models", headers={"Authorization": f"Bearer {secret}"}).json()["data"]
        return {m["id"] for m in data}

    assert model in ids(open_secret) and model not in ids(narrow_secret)
    refused = call(gateway, narrow_secret, model)
    assert refused.status_code == 403 and refused.json()["error"]["message"] == "Model blocked by policy"
    assert call(gateway, open_secret, "policy/nope").status_code == 404
