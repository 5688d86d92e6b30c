"""Gateway bodies checked before anything reads them: the fields Covey or a translation uses have the
types they must have, numbers are within range, nesting is bounded. A body that fails answers 400
naming the field; fields Covey does not read pass through to the upstream untouched."""

from __future__ import annotations

from typing import Any

import orjson

from covey.budgets.estimate import CAP_FIELDS
from covey.gateway.errors import GatewayError
from covey.pricing.tokens import MAX_TOKENS

Json = dict[str, Any]
# Deeper than any real request (a tool's JSON schema included); recursion elsewhere stays far from Python's limit.
MAX_DEPTH = 64
MAX_CHOICES = 128  # OpenAI's bound on `n`
MAX_DIMENSIONS = 4096  # above every embedding model's output size
MAX_EMBEDDING_INPUTS = 2048  # OpenAI's bound on inputs per request


def _fail(path: str, problem: str) -> GatewayError:
    return GatewayError(400, f"{path}: {problem}")


def depth(value: Any, limit: int) -> int:
    """How deep `value` nests (a scalar is 0), counting no further than `limit + 1`; iterative, so a
    hostile body cannot exhaust the stack."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        stack.extend((child, level) for child in children)
    return deepest


def _integer(body: Json, name: str, low: int, high: int) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(name, f"must be an integer from {low} to {high}")


def _number(body: Json, name: str) -> None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _fail(name, "must be a number")


def _typed(body: Json, name: str, kind: type | tuple[type, ...], what: str, path: str | None = None) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise _fail(path or name, f"must be {what}")


def _objects(value: Any, path: str) -> list[Json]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(path, "must be a list of objects")
    return value


def _strings(value: Any, path: str) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, "must be a string or a list of strings")


def _json_text(value: Any, path: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise _fail(path, "must be a string holding JSON")
    try:
        orjson.loads(value or "{}")
    except orjson.JSONDecodeError:
        raise _fail(path, "must be a string holding JSON") from None


def _messages(body: Json) -> list[Json]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fail("messages", "must be a non-empty list of message objects")
    for n, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _fail(f"messages[{n}]", "must be an object")
        if not isinstance(m.get("role"), str):
            raise _fail(f"messages[{n}].role", "must be a string")
    return messages


def _parts(content: Any, path: str) -> None:
    """Content: a string, or a list of typed parts (objects with a string `type`)."""
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _fail(path, "must be a string or a list of content parts")
    for n, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _fail(f"{path}[{n}]", "must be a content part object with a string `type`")
        for field in ("text", "id", "name", "tool_use_id", "tool_call_id"):
            _typed(part, field, str, "a string", f"{path}[{n}].{field}")
        for field in ("image_url", "source"):
            _typed(part, field, dict, "an object", f"{path}[{n}].{field}")
        for field in ("url", "media_type", "data"):
            for holder in ("image_url", "source"):
                if isinstance(part.get(holder), dict):
                    _typed(part[holder], field, str, "a string", f"{path}[{n}].{holder}.{field}")
        source = part.get("source")
        if (
            isinstance(source, dict)
            and source.get("type") == "base64"
            and not (isinstance(source.get("media_type"), str) and isinstance(source.get("data"), str))
        ):
            raise _fail(f"{path}[{n}].source", "a base64 source needs string `media_type` and `data`")
        if "content" in part:
            _parts(part["content"], f"{path}[{n}].content")


def _chat(body: Json) -> None:
    for n, m in enumerate(_messages(body)):
        _parts(m.get("content"), f"messages[{n}].content")
        _typed(m, "tool_call_id", str, "a string", f"messages[{n}].tool_call_id")
        calls = m.get("tool_calls")
        if calls is not None:
            for c, call in enumerate(_objects(calls, f"messages[{n}].tool_calls")):
                path = f"messages[{n}].tool_calls[{c}]"
                _typed(call, "id", str, "a string", f"{path}.id")
                fn = call.get("function")
                if not isinstance(fn, dict):
                    raise _fail(f"{path}.function", "must be an object")
                _typed(fn, "name", str, "a string", f"{path}.function.name")
                _json_text(fn.get("arguments"), f"{path}.function.arguments")
    tools = body.get("tools")
    if tools is not None:
        for n, tool in enumerate(_objects(tools, "tools")):
            fn = tool.get("function")
            if tool.get("type", "function") == "function" and not (
                isinstance(fn, dict) and isinstance(fn.get("name"), str)
            ):
                raise _fail(f"tools[{n}].function", "must be an object with a string `name`")
            if isinstance(fn, dict):
                _typed(fn, "parameters", dict, "an object", f"tools[{n}].function.parameters")
                _typed(fn, "description", str, "a string", f"tools[{n}].function.description")
    choice = body.get("tool_choice")
    if choice is not None and not isinstance(choice, str | dict):
        raise _fail("tool_choice", "must be a string or an object")
    if isinstance(choice, dict):
        _typed(choice, "function", dict, "an object", "tool_choice.function")
        if isinstance(choice.get("function"), dict):
            _typed(choice["function"], "name", str, "a string", "tool_choice.function.name")
    if body.get("functions") is not None:
        _objects(body["functions"], "functions")
    if body.get("stop") is not None:
        _strings(body["stop"], "stop")
    _typed(body, "response_format", dict, "an object")
    _typed(body, "stream_options", dict, "an object")
    _typed(body, "user", str, "a string")
    _typed(body, "reasoning_effort", str, "a string")
    _integer(body, "n", 1, MAX_CHOICES)


def _messages_api(body: Json, *, counting: bool) -> None:
    for n, m in enumerate(_messages(body)):
        content = m.get("content")
        if content is None:
            raise _fail(f"messages[{n}].content", "Field required")
        _parts(content, f"messages[{n}].content")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        _parts(system, "system")
    if body.get("max_tokens") is None and not counting:  # counting tokens writes none
        raise _fail("max_tokens", "Field required (an integer ≥ 1)")
    tools = body.get("tools")
    if tools is not None:
        for n, tool in enumerate(_objects(tools, "tools")):
            _typed(tool, "name", str, "a string", f"tools[{n}].name")
            _typed(tool, "description", str, "a string", f"tools[{n}].description")
            _typed(tool, "input_schema", dict, "an object", f"tools[{n}].input_schema")
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
            raise _fail("tool_choice", "must be an object with a string `type`")
        _typed(choice, "name", str, "a string", "tool_choice.name")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise _fail("metadata", "must be an object")
        _typed(metadata, "user_id", str, "a string", "metadata.user_id")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise _fail("stop_sequences", "must be a list of strings")
    _typed(body, "thinking", dict, "an object")


def _embeddings(body: Json) -> None:
    given = body.get("input")
    if given is None:
        raise _fail("input", "Field required")
    ok = isinstance(given, str) or (
        isinstance(given, list)
        and 0 < len(given) <= MAX_EMBEDDING_INPUTS
        and (
            all(isinstance(v, str) for v in given)
            or all(isinstance(v, int) and not isinstance(v, bool) for v in given)
            or all(
                isinstance(v, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in v) for v in given
            )
        )
    )
    if not ok:
        raise _fail(
            "input",
            f"must be a string, or a list of 1 to {MAX_EMBEDDING_INPUTS} strings, token ids or lists of token ids",
        )
    _integer(body, "dimensions", 1, MAX_DIMENSIONS)
    _typed(body, "encoding_format", str, "a string")
    _typed(body, "user", str, "a string")


def basics(body: Json) -> None:
    """What every body needs before anything reads it: bounded nesting and a model."""
    if depth(body, MAX_DEPTH) > MAX_DEPTH:
        raise _fail("body", f"nests deeper than {MAX_DEPTH} levels")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _fail("model", "Field required")


def validate(body: Json, *, endpoint: str, dialect: str) -> None:
    """Raises a 400 `GatewayError` naming the first field that is wrong. A Responses request comes
    here turned into chat."""
    basics(body)
    if endpoint == "embeddings":
        _embeddings(body)
        return
    _typed(body, "stream", bool, "a boolean")
    for name in CAP_FIELDS:
        _integer(body, name, 1, MAX_TOKENS)
    for name in ("temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty"):
        _number(body, name)
    if dialect == "anthropic":
        _messages_api(body, counting=endpoint == "count_tokens")
    else:
        _chat(body)
