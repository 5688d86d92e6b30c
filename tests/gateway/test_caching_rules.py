"""Where automatic caching puts its breakpoints, as a pure function."""

from __future__ import annotations

from typing import Any

from covey.gateway.caching import MAX_BREAKPOINTS, add_breakpoints

LONG = "word " * 1200  # ~1,500 tokens


def test_at_most_four_on_tools_system_and_the_two_turns_before_the_newest() -> None:
    native: dict[str, Any] = {
        "tools": [{"name": "a", "description": LONG, "input_schema": {}}, {"name": "b", "input_schema": {}}],
        "system": LONG,
        "messages": [{"role": "user", "content": LONG} for _ in range(6)],
    }
    assert add_breakpoints(native) == MAX_BREAKPOINTS
    assert "cache_control" in native["tools"][-1] and "cache_control" not in native["tools"][0]
    assert native["system"] == [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
    marked = [i for i, m in enumerate(native["messages"]) if isinstance(m["content"], list)]
    assert marked == [2, 4]


def test_thinking_blocks_are_skipped_and_short_prefixes_left_alone() -> None:
    native: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": LONG},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "thinking", "thinking": "…"}]},
            {"role": "user", "content": "next"},
        ]
    }
    assert add_breakpoints(native) == 1
    assert native["messages"][1]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in native["messages"][1]["content"][1]
    short: dict[str, Any] = {
        "system": "be brief",
        "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
    }
    assert add_breakpoints(short) == 0 and short["system"] == "be brief"


def test_a_request_with_its_own_breakpoints_is_untouched() -> None:
    native: dict[str, Any] = {
        "system": LONG,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]}
        ],
    }
    before = repr(native)
    assert add_breakpoints(native) == 0 and repr(native) == before
