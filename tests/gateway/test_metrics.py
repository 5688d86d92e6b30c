"""`GET /metrics`: every gateway answer counted by endpoint and status, metered requests timed, tokens
and spend added up from the written usage records, the scrape token, and workers adding up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from covey.app import create_app
from covey.config import Settings
from tests.gateway.conftest import Sdk, World, eventually, wait_until_served

HELLO = [{"role": "user", "content": "count me"}]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(gateway: str) -> Samples:
    response = httpx.get(f"{gateway}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_answers_are_counted_metered_requests_timed_and_spend_added_up(gateway: str, sdk: Sdk, world: World) -> None:
    key_id, secret = world.key()
    wait_until_served(gateway, secret)
    before = _scrape(gateway)

    done = sdk.openai(secret).chat.completions.create(model="up/gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    assert done.usage is not None
    no_key = httpx.post(f"{gateway}/v1/chat/completions", json={"model": "up/gpt-4o-mini", "messages": HELLO})
    assert no_key.status_code == 401
    no_messages = httpx.post(
        f"{gateway}/v1/chat/completions",
        json={"model": "up/gpt-4o-mini"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert no_messages.status_code == 400
    (record,) = world.records(key_id, count=1)

    def written() -> Samples | None:
        now = _scrape(gateway)
        grew = _value(now, "covey_usage_records_written_total") > _value(before, "covey_usage_records_written_total")
        return now if grew else None

    after = eventually(written)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("covey_gateway_requests_total", endpoint="chat", status="200") == 1
    assert delta("covey_gateway_requests_total", endpoint="chat", status="401") == 1
    assert delta("covey_gateway_requests_total", endpoint="chat", status="400") == 1
    # Only the metered request is timed; refusals answer before any upstream call.
    assert delta("covey_gateway_request_duration_seconds_count", endpoint="chat") == 1
    assert delta("covey_gateway_request_duration_seconds_bucket", endpoint="chat", le="+Inf") == 1
    assert delta("covey_usage_records_written_total") == 1
    assert delta("covey_gateway_tokens_total", provider="up", kind="input") == record.input_tokens > 0
    assert delta("covey_gateway_tokens_total", provider="up", kind="output") == record.output_tokens > 0
    assert delta("covey_gateway_spend_dollars_total", provider="up") == pytest.approx(record.cost_nanos / 1e9)
    assert record.cost_nanos > 0
    assert _value(after, "covey_snapshot_revision") >= 1
    assert ("covey_usage_records_pending", ()) in after
    assert delta("covey_usage_records_quarantined_total") == 0  # nothing refused; tests/usage poisons one
    assert ("process_cpu_seconds_total", ()) in after  # one worker: its process figures too


@pytest.fixture
def guarded(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-me"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_metrics_token_guards_the_scrape(guarded: TestClient) -> None:
    refused = guarded.get("/metrics")
    assert refused.status_code == 401
    assert "COVEY_METRICS_TOKEN" in refused.json()["error"]["message"]
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200
    assert "covey_gateway_requests_total" in allowed.text


_WORKER = """
import sys
from covey.ops.metrics import Metrics
metrics = Metrics(shared=True)
for _ in range(int(sys.argv[1])):
    metrics.answered("chat", 200)
metrics.timed("chat", 0.2)
"""
_SCRAPE = """
from covey.ops.metrics import Metrics
print(Metrics(shared=True).render().decode())
"""


def test_workers_sharing_a_metrics_folder_add_up(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for count in (3, 4):
        subprocess.run([sys.executable, "-c", _WORKER, str(count)], env=env, check=True)
    scraped = subprocess.run([sys.executable, "-c", _SCRAPE], env=env, check=True, capture_output=True, text=True)
    samples = _samples(scraped.stdout)
    assert _value(samples, "covey_gateway_requests_total", endpoint="chat", status="200") == 7
    assert _value(samples, "covey_gateway_request_duration_seconds_count", endpoint="chat") == 2
