"""Every refusal answers Requesty's status and message, so each SDK raises its matching exception."""

from __future__ import annotations

from datetime import timedelta

import anthropic
import httpx
import openai
import pytest

from covey.kit.clock import utcnow
from tests.gateway.conftest import Sdk, World, wait_until_served

HELLO = [{"role": "user", "content": "hello"}]


def chat(sdk: Sdk, secret: str, model: str = "up/gpt-4o-mini", **kwargs: object) -> object:
    return sdk.openai(secret).chat.completions.create(model=model, messages=HELLO, **kwargs)  # type: ignore[call-overload]


def test_missing_key_is_401(gateway: str, sdk: Sdk) -> None:
    no_key = sdk.openai("x", default_headers={"Authorization": ""})
    with pytest.raises(openai.AuthenticationError) as caught:
        no_key.chat.completions.create(model="up/gpt-4o-mini", messages=HELLO)  # type: ignore[arg-type]
    assert caught.value.status_code == 401
    raw = httpx.post(f"{gateway}/v1/chat/completions", json={})
    assert raw.json()["error"] == {
        "origin": "router",
        "message": "Unauthorized",
        "type": "authentication_error",
        "code": 401,
    }


def test_unknown_revoked_and_expired_keys_are_401(gateway: str, sdk: Sdk, world: World) -> None:
    with pytest.raises(openai.AuthenticationError, match="Invalid authorization token"):
        chat(sdk, "cvy_not-a-real-key")
    _revoked_id, revoked = world.key(revoked_at=utcnow())
    _expired_id, expired = world.key(expires_at=utcnow() - timedelta(minutes=1))
    _fresh_id, fresh = world.key()
    wait_until_served(gateway, fresh)
    for secret in (revoked, expired):
        with pytest.raises(openai.AuthenticationError, match="Invalid authorization token"):
            chat(sdk, secret)
        with pytest.raises(anthropic.AuthenticationError, match="Invalid authorization token"):
            sdk.anthropic(secret).messages.create(model="up/gpt-4o-mini", max_tokens=5, messages=HELLO)  # type: ignore[arg-type]
        raw = httpx.post(f"{gateway}/v1/messages", headers={"x-api-key": secret}, json={})
        assert raw.status_code == 401
        assert raw.json()["error"]["type"] == "authentication_error"
        for path in ("/v1/models", "/v1/manage/apikey"):
            answer = httpx.get(f"{gateway}{path}", headers={"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 401, path
            assert answer.json()["error"]["message"] == "Invalid authorization token"


def test_group_and_owner_refusals(gateway: str, sdk: Sdk, world: World) -> None:
    owner = world.org.user()
    eng = world.group("Eng-refusals")
    left = world.group("Left", parent_id=eng)
    expiring = world.group("Expiring", parent_id=eng)
    for group in (left, expiring):
        world.member(group, owner)
    _a, outsider = world.key(owner, group_id=left)
    _b, in_expired = world.key(owner, group_id=expiring)
    _c, no_completions = world.key(owner, completions="none")
    world.remove_member(left, owner)
    world.expire_group(expiring)
    _d, fine = world.key(owner)
    wait_until_served(gateway, fine)
    with pytest.raises(openai.PermissionDeniedError, match="no longer a member"):
        chat(sdk, outsider)
    with pytest.raises(openai.PermissionDeniedError, match="expired"):
        chat(sdk, in_expired)
    with pytest.raises(openai.PermissionDeniedError, match="completions"):
        chat(sdk, no_completions)


def test_models_blocked_unknown_and_features_off(gateway: str, sdk: Sdk, world: World) -> None:
    minis = world.access_list("minis", chat=["up/gpt-4o-mini", "up/text-embedding-3-small"])
    owner = world.org.user()
    team = world.group("No streaming", access_list_id=minis, features={"streaming": False, "embeddings": False})
    world.member(team, owner)
    _key, secret = world.key(owner, group_id=team)
    wait_until_served(gateway, secret)
    with pytest.raises(openai.PermissionDeniedError, match="Model blocked by policy"):
        chat(sdk, secret, model="up/gpt-4o")
    with pytest.raises(openai.NotFoundError):
        chat(sdk, secret, model="up/no-such-model")
    with pytest.raises(openai.PermissionDeniedError, match="'streaming'"):
        list(chat(sdk, secret, stream=True))  # type: ignore[call-overload]
    with pytest.raises(openai.PermissionDeniedError, match="'embeddings'"):
        sdk.openai(secret).embeddings.create(model="up/text-embedding-3-small", input="x")
    assert chat(sdk, secret) is not None


def test_bad_input_is_400_and_big_bodies_413(gateway: str, sdk: Sdk, world: World) -> None:
    _key, secret = world.key()
    wait_until_served(gateway, secret)
    with pytest.raises(openai.BadRequestError, match="messages"):
        sdk.openai(secret).chat.completions.create(model="up/gpt-4o-mini", messages=[])
    headers = {"Authorization": f"Bearer {secret}"}
    malformed = httpx.post(f"{gateway}/v1/chat/completions", headers=headers, content=b"{nope")
    assert malformed.status_code == 400 and "Malformed JSON" in malformed.json()["error"]["message"]
    no_model = httpx.post(f"{gateway}/v1/chat/completions", headers=headers, json={"messages": HELLO})
    assert no_model.status_code == 400 and no_model.json()["error"]["message"].startswith("model")
    huge = httpx.post(
        f"{gateway}/v1/chat/completions",
        headers=headers,
        json={"model": "up/gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 70_000}]},
    )
    assert huge.status_code == 413 and huge.json()["error"]["type"] == "request_too_large"


def test_anthropic_shaped_errors_on_messages(gateway: str, sdk: Sdk, world: World) -> None:
    _key, secret = world.key()
    wait_until_served(gateway, secret)
    good = sdk.anthropic(secret)
    bad = sdk.anthropic("cvy_wrong")
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="up/gpt-4o-mini", max_tokens=10, messages=HELLO)  # type: ignore[arg-type]
    with pytest.raises(anthropic.NotFoundError):
        good.messages.create(model="up/nope", max_tokens=10, messages=HELLO)  # type: ignore[arg-type]
    bearer = httpx.post(
        f"{gateway}/v1/messages",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "up/gpt-4o-mini", "messages": HELLO},
    )
    assert bearer.status_code == 400
    assert bearer.json()["type"] == "error" and bearer.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in bearer.json()["error"]["message"]
    anonymous = httpx.post(f"{gateway}/v1/messages", json={})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["type"] == "authentication_error"


def test_provider_failures_are_mapped(gateway: str, sdk: Sdk, world: World, upstream_control: httpx.Client) -> None:
    _key, secret = world.key()
    wait_until_served(gateway, secret)
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "status": 429})
    with pytest.raises(openai.RateLimitError, match="Too many requests"):
        chat(sdk, secret, model="up/gpt-4o")
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "status": 500})
    with pytest.raises(openai.InternalServerError) as caught:
        chat(sdk, secret, model="up/gpt-4o")
    assert caught.value.status_code == 502
    body = caught.value.body
    assert isinstance(body, dict) and body.get("origin") == "provider"
    upstream_control.post("/_mock/behaviour", json={"model": "gpt-4o", "status": 400})
    with pytest.raises(openai.BadRequestError):
        chat(sdk, secret, model="up/gpt-4o")
