"""Fuzzing through HTTP, on a small fixed budget: property-based bodies (Hypothesis) for the three
gateway endpoints and the management API's numbers, and schemathesis over /openapi.json. No answer is
a 5xx, every error is JSON, and metering still writes afterwards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from covey.kit.db import Database
from tests.gateway.conftest import World, make_world, wait_until_served

BUDGET = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# Fields the gateway or a translation reads, with any JSON in them; or a plausible value.
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["user", "assistant", "system", "tool", "developer"]) | json_values,
        "content": st.text()
        | json_values
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.text()},
                optional={
                    "text": json_values,
                    "image_url": json_values,
                    "source": json_values,
                    "content": json_values,
                    "input": json_values,
                },
            )
        ),
        "tool_calls": json_values,
        "tool_call_id": json_values,
    },
)
CHAT_FIELDS = {
    "messages": st.lists(MESSAGE, max_size=3) | json_values,
    "max_tokens": st.integers(min_value=-5, max_value=2**40) | json_values,
    "max_completion_tokens": json_values,
    "n": st.integers(min_value=-1, max_value=300) | json_values,
    "stream": st.booleans() | json_values,
    "stream_options": json_values,
    "tools": json_values,
    "tool_choice": json_values,
    "stop": json_values,
    "system": json_values,
    "metadata": json_values,
    "response_format": json_values,
    "requesty": json_values,
    "temperature": json_values,
}
EMBEDDING_FIELDS = {
    "input": st.text() | st.lists(st.text(), max_size=3) | json_values,
    "dimensions": st.integers(min_value=-5, max_value=10**7) | json_values,
    "encoding_format": st.sampled_from(["float", "base64"]) | json_values,
}
MODELS = (
    st.sampled_from(["up/gpt-4o-mini", "claude/claude-sonnet-4-20250514", "mock/gpt-4o-mini", "nope/x"]) | json_values
)


def bodies(fields: dict[str, Any], model: Any = MODELS) -> Any:
    return st.fixed_dictionaries({"model": model}, optional=fields) | json_values


@pytest.fixture(scope="module")
def fuzz_world(client: TestClient, db: Database) -> World:
    return make_world(client, db)  # its own organization: the fuzzers may change what they can reach


@pytest.fixture(scope="module")
def secret(gateway: str, fuzz_world: World) -> str:
    _, secret = fuzz_world.key()
    wait_until_served(gateway, secret)
    return secret


def check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), response.text[:200]
        response.json()


def fuzz_post(gateway: str, secret: str, path: str, body: Any) -> None:
    response = httpx.post(gateway + path, json=body, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    check(response)


@BUDGET
@given(body=bodies(CHAT_FIELDS))
def test_chat_completions_never_answer_5xx(gateway: str, secret: str, body: Any) -> None:
    fuzz_post(gateway, secret, "/v1/chat/completions", body)


@BUDGET
@given(body=bodies(CHAT_FIELDS))
def test_messages_never_answer_5xx(gateway: str, secret: str, body: Any) -> None:
    fuzz_post(gateway, secret, "/v1/messages", body)


@BUDGET
@given(body=bodies(EMBEDDING_FIELDS, st.sampled_from(["up/text-embedding-3-small", "mock/text-embedding-3-small"])))
def test_embeddings_never_answer_5xx(gateway: str, secret: str, body: Any) -> None:
    fuzz_post(gateway, secret, "/v1/embeddings", body)


numbers = st.integers(min_value=-(2**64), max_value=2**64).map(str) | st.text(max_size=8)


@BUDGET
@given(
    path=st.sampled_from(["/v1/manage/user", "/v1/manage/audit", "/v1/manage/alert", "/v1/manage/apikey"]),
    limit=numbers,
    offset=numbers,
)
def test_management_numbers_are_range_checked(
    gateway: str, fuzz_world: World, path: str, limit: str, offset: str
) -> None:
    response = httpx.get(
        gateway + path, params={"limit": limit, "offset": offset}, headers=fuzz_world.org.admin.headers, timeout=30
    )
    check(response)


@pytest.mark.parametrize("path", ["/v1/manage/user", "/v1/manage/audit", "/v1/manage/alert"])
def test_an_offset_past_64_bits_is_a_400(gateway: str, fuzz_world: World, path: str) -> None:
    response = httpx.get(gateway + path, params={"offset": 2**63}, headers=fuzz_world.org.admin.headers)
    assert response.status_code == 400 and "offset" in response.text


def test_the_management_api_never_answers_5xx(gateway: str, fuzz_world: World) -> None:
    """Schemathesis over every operation of /openapi.json, a few cases each, as the org's admin."""
    schema = schemathesis.openapi.from_url(f"{gateway}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 50
    for operation in operations:

        @settings(
            max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(base_url=gateway, headers=fuzz_world.org.admin.headers, timeout=30)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:200]}")

        run()
    assert not failures, "\n".join(failures[:20])


def test_metering_still_writes_after_the_fuzzing(gateway: str, client: TestClient, db: Database) -> None:
    world = make_world(client, db)
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    body = {"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": "still there?"}]}
    response = httpx.post(f"{gateway}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    (record,) = world.records(key_id, count=1)
    assert record.status == 200 and record.cost_nanos > 0
