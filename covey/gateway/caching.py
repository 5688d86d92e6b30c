"""Automatic prompt caching for Anthropic-dialect upstreams (`auto_caching`, or Requesty's
`requesty.auto_cache: true`): cache breakpoints on the largest stable prefix of the request, within
Anthropic's limit of four.

The prefix a conversation keeps from one turn to the next is, in order: the tools, the system prompt,
and every turn before the newest. Breakpoints go at the end of the tools, the end of the system prompt,
the turn before the newest one (what this request writes) and the one two turns back (what the
previous request wrote, so this one reads it) — each only where the prefix up to it is long enough for
the provider to cache (about 1,024 tokens). A request that carries `cache_control` of its own is left as
it is: the caller placed its breakpoints."""

from __future__ import annotations

from typing import Any

MAX_BREAKPOINTS = 4
# Anthropic caches prefixes of at least 1,024 tokens (2,048 on its smallest models); shorter ones are
# sent without a breakpoint, which would only cost a cache write that is never read.
MIN_PREFIX_TOKENS = 1024
_EPHEMERAL = {"type": "ephemeral"}
# Blocks that cannot carry cache_control.
_UNMARKABLE = frozenset(("thinking", "redacted_thinking"))

Json = dict[str, Any]


def _tokens(value: Any) -> int:
    """About four characters a token, counted over every string in the value."""
    if isinstance(value, str):
        return len(value) // 4
    if isinstance(value, dict):
        return sum(_tokens(v) for v in value.values())
    if isinstance(value, list):
        return sum(_tokens(v) for v in value)
    return 0


def has_cache_control(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(has_cache_control(v) for v in value.values())
    if isinstance(value, list):
        return any(has_cache_control(v) for v in value)
    return False


def _mark_last_block(holder: Json, key: str) -> bool:
    """Put the breakpoint on the last block of `holder[key]` (a string becomes one text block)."""
    content = holder.get(key)
    if isinstance(content, str):
        if not content:
            return False
        holder[key] = [{"type": "text", "text": content, "cache_control": dict(_EPHEMERAL)}]
        return True
    if isinstance(content, list):
        for block in reversed(content):
            if isinstance(block, dict) and block.get("type") not in _UNMARKABLE:
                block["cache_control"] = dict(_EPHEMERAL)
                return True
    return False


def add_breakpoints(native: Json, *, min_tokens: int = MIN_PREFIX_TOKENS) -> int:
    """Adds breakpoints to an Anthropic Messages request in place; how many it added."""
    if has_cache_control(native):
        return 0
    added = 0
    prefix = 0
    tools = native.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[-1], dict):
        prefix += _tokens(tools)
        if prefix >= min_tokens:
            tools[-1]["cache_control"] = dict(_EPHEMERAL)
            added += 1
    system = native.get("system")
    if system:
        prefix += _tokens(system)
        if prefix >= min_tokens and _mark_last_block(native, "system"):
            added += 1
    messages = native.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return added
    # Turns before the newest: two back (read), then one back (written); each marked when long enough.
    sizes = [_tokens(m) for m in messages]
    for back in (3, 1):
        index = len(messages) - 1 - back
        if index < 0 or added >= MAX_BREAKPOINTS:
            continue
        message = messages[index]
        long_enough = prefix + sum(sizes[: index + 1]) >= min_tokens
        if isinstance(message, dict) and long_enough and _mark_last_block(message, "content"):
            added += 1
    return added
