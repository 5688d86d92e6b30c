"""Token counts of one answer, normalized across provider dialects."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# The most tokens one count may hold: what the usage records' INTEGER columns take. No answer comes near.
MAX_TOKENS = 2**31 - 1


def count(value: Any) -> int:
    """A token count an upstream reported, as a number Covey can trust: never negative, never above
    `MAX_TOKENS`; anything that is not a number (a string, a list, NaN) counts nothing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float):
        if not math.isfinite(value):
            return MAX_TOKENS if value > 0 else 0
        value = math.ceil(value)
    return 0 if value < 0 else min(value, MAX_TOKENS)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Tokens:
    """`input` counts every prompt token, cached ones included (OpenAI's convention); `reasoning` is part
    of `output` and is priced as output, never added twice."""

    input: int = 0
    output: int = 0
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @classmethod
    def bounded(cls, *, input: int, output: int, cached: int = 0, cache_write: int = 0, reasoning: int = 0) -> Tokens:
        """Counts that hold together: each within `MAX_TOKENS`, cache reads and writes within the input,
        reasoning within the output."""
        input, output = min(input, MAX_TOKENS), min(output, MAX_TOKENS)
        cached = min(cached, input)
        return cls(
            input=input,
            output=output,
            cached=cached,
            cache_write=min(cache_write, input - cached),
            reasoning=min(reasoning, output),
        )

    @classmethod
    def from_openai(cls, usage: Any) -> Tokens:
        """An upstream's `usage`, whatever it holds (see `count`)."""
        if not usage or not isinstance(usage, dict):
            return cls()
        prompt_details = _object(usage.get("prompt_tokens_details"))
        completion_details = _object(usage.get("completion_tokens_details"))
        return cls.bounded(
            input=count(usage.get("prompt_tokens")),
            output=count(usage.get("completion_tokens")),
            cached=count(prompt_details.get("cached_tokens")),
            cache_write=count(prompt_details.get("cache_write_tokens")),
            reasoning=count(completion_details.get("reasoning_tokens")),
        )

    @classmethod
    def from_anthropic(cls, usage: Any) -> Tokens:
        """Anthropic's `input_tokens` leaves out cache reads and writes; they are added back here."""
        if not usage or not isinstance(usage, dict):
            return cls()
        cached = count(usage.get("cache_read_input_tokens"))
        written = count(usage.get("cache_creation_input_tokens"))
        return cls.bounded(
            input=count(usage.get("input_tokens")) + cached + written,
            output=count(usage.get("output_tokens")),
            cached=cached,
            cache_write=written,
        )

    @classmethod
    def from_responses(cls, usage: Any) -> Tokens:
        """The usage object of OpenAI's Responses API (`input_tokens` counts the cached ones too)."""
        if not usage or not isinstance(usage, dict):
            return cls()
        input_details = _object(usage.get("input_tokens_details"))
        output_details = _object(usage.get("output_tokens_details"))
        return cls.bounded(
            input=count(usage.get("input_tokens")),
            output=count(usage.get("output_tokens")),
            cached=count(input_details.get("cached_tokens")),
            reasoning=count(output_details.get("reasoning_tokens")),
        )

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.input,
            "completion_tokens": self.output,
            "total_tokens": self.input + self.output,
        }
        if self.cached or self.cache_write:
            out["prompt_tokens_details"] = {"cached_tokens": self.cached, "cache_write_tokens": self.cache_write}
        if self.reasoning:
            out["completion_tokens_details"] = {"reasoning_tokens": self.reasoning}
        return out

    def to_anthropic(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input - self.cached - self.cache_write,
            "output_tokens": self.output,
            "cache_read_input_tokens": self.cached,
            "cache_creation_input_tokens": self.cache_write,
        }
