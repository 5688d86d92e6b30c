"""Real clients nobody here wrote, unmodified, against a running Covey: OpenAI's Codex CLI (Responses
API), Anthropic's Claude Code (Messages API) and the Node `openai` SDK. Each completes its task
against the built-in mock models, and the usage records carry its tokens, cost and features.

The clients come from npm; `.ci/run` installs them into `COVEY_TEST_CLIENTS_DIR` (default
`~/.cache/covey-clients`). Where node or a client is missing, its test is skipped and says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from covey.app import create_app
from covey.config import Settings
from tests.gateway.conftest import World, wait_until_served
from tests.gateway.servers import serve

CLIENTS = Path(os.environ.get("COVEY_TEST_CLIENTS_DIR") or Path.home() / ".cache" / "covey-clients")
MODEL = "mock/gpt-4o-mini"
# The mock model's prices in covey.toml (USD per million tokens), in nano-dollars per token.
INPUT_NANOS, OUTPUT_NANOS = 150, 600
TASK = "List the files in this folder"
SCRIPTS = Path(__file__).parent / "clients"


def _client(command: str, package: str) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (Debian: apt-get install nodejs npm)")
    path = CLIENTS / "node_modules" / ".bin" / command
    if not path.exists():
        pytest.skip(
            f"{package} is not installed in {CLIENTS} (.ci/run installs it: npm install --prefix DIR {package})"
        )
    return path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no credentials or settings of whoever runs the tests leak into the client."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8", **extra}


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, check=False
    )


def _check_records(
    records: list[Any], *, endpoint: str, input_tokens: int, output_tokens: int, model: str = MODEL
) -> None:
    assert records and all(r.endpoint == endpoint and r.status == 200 and r.model_used == model for r in records)
    assert all({"streaming", "tools"} <= set(r.features) for r in records)
    assert sum(r.input_tokens for r in records) == input_tokens
    assert sum(r.output_tokens for r in records) == output_tokens
    for r in records:
        assert r.cost_nanos == r.input_tokens * INPUT_NANOS + r.output_tokens * OUTPUT_NANOS


@pytest.fixture(scope="module")
def agents_gateway(gateway_settings: Settings) -> Iterator[str]:
    """A second Covey on the same database, taking bodies the size coding agents send (their system
    prompts and tool lists run past the suite's small limit)."""
    settings = gateway_settings.model_copy(update={"max_body_bytes": 4 * 1024 * 1024})
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def key(agents_gateway: str, world: World) -> tuple[str, str]:
    key_id, secret = world.key()
    wait_until_served(agents_gateway, secret)
    return key_id, secret


# The built-in mock (translated to chat), and a real HTTP upstream that serves the Responses API itself
# (the request as Codex sent it); both priced at gpt-4o-mini's $0.15 and $0.60 per million tokens.
@pytest.mark.parametrize("model", [MODEL, "native/gpt-4o-mini"])
def test_codex_exec_completes_a_task(
    agents_gateway: str, world: World, key: tuple[str, str], tmp_path: Path, model: str
) -> None:
    codex = _client("codex", "@openai/codex")
    key_id, secret = key
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "covey"\n\n'
        "[model_providers.covey]\n"
        'name = "Covey"\n'
        f'base_url = "{agents_gateway}/v1"\n'
        'env_key = "COVEY_API_KEY"\n'
        'wire_api = "responses"\n'
    )
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("hello\n")
    run = _run(
        [str(codex), "exec", "--skip-git-repo-check", "--sandbox", "read-only", "--json", TASK],
        cwd=work,
        env=_env(tmp_path, CODEX_HOME=str(home), COVEY_API_KEY=secret),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    said = [e["item"]["text"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"]
    assert any("mock answer" in text for text in said), run.stdout[-3000:]
    usage = next(e["usage"] for e in events if e["type"] == "turn.completed")
    # The model asked for a tool, Codex ran it and sent its output back, the model answered in text.
    records = world.records(key_id, count=2)
    assert len(records) >= 2
    _check_records(
        records,
        endpoint="responses",
        model=model,
        input_tokens=usage["input_tokens"],
        output_tokens=usage["output_tokens"],
    )


def test_claude_code_completes_a_task(agents_gateway: str, world: World, key: tuple[str, str], tmp_path: Path) -> None:
    claude = _client("claude", "@anthropic-ai/claude-code")
    key_id, secret = key
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("hello\n")
    env = _env(
        tmp_path,
        ANTHROPIC_BASE_URL=agents_gateway,
        ANTHROPIC_API_KEY=secret,
        DISABLE_AUTOUPDATER="1",
        DISABLE_TELEMETRY="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    version = _run([str(claude), "--version"], cwd=work, env=env)
    if version.returncode != 0:
        pytest.skip(f"claude does not run here ({version.stderr.strip()[:200]}); .ci/run runs its install step")
    run = _run([str(claude), "-p", TASK, "--output-format", "json", "--model", MODEL], cwd=work, env=env)
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-2000:])
    result = json.loads(run.stdout)
    assert result["subtype"] == "success" and result["is_error"] is False, result
    assert "mock answer" in result["result"] and result["num_turns"] >= 2
    records = world.records(key_id, count=2)
    usage = result["usage"]
    _check_records(
        records, endpoint="messages", input_tokens=usage["input_tokens"], output_tokens=usage["output_tokens"]
    )


def test_the_node_sdk(agents_gateway: str, world: World, key: tuple[str, str]) -> None:
    _client("codex", "@openai/codex")  # the same install brings the SDK
    if not (CLIENTS / "node_modules" / "openai").exists():
        pytest.skip(f"the openai npm package is not installed in {CLIENTS}")
    key_id, secret = key
    run = subprocess.run(
        ["node", str(SCRIPTS / "node_sdk.cjs"), f"{agents_gateway}/v1", secret, MODEL],
        env={**_env(Path(CLIENTS)), "NODE_PATH": str(CLIENTS / "node_modules")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout)
    assert "Hello from Node" in seen["chat"] and seen["chat_cost"] > 0
    assert "Hello from Node" in seen["responses"] and seen["responses_streamed"] == seen["responses"]
    assert seen["tool_call"] == "get_weather" and seen["after_tool"]
    assert seen["continued"] and seen["retrieved"] and seen["after_delete"] == 404
    # The SDK asks for base64 by default and decodes it unchecked: the vectors must be the floats.
    assert len(seen["float_vector"]) == 8 and any(seen["float_vector"])
    assert seen["base64_vector"] == pytest.approx(seen["float_vector"], rel=1e-6)
    assert seen["auth_error"] == 401
    endpoints = sorted(r.endpoint for r in world.records(key_id, count=9))
    assert endpoints == ["chat", "embeddings", "embeddings", *["responses"] * 6]
