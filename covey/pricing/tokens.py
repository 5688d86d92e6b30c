"""Token counts of one answer, normalized across provider dialects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    def from_openai(cls, usage: dict[str, Any] | None) -> Tokens:
        if not usage:
            return cls()
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(
            input=int(usage.get("prompt_tokens") or 0),
            output=int(usage.get("completion_tokens") or 0),
            cached=int(prompt_details.get("cached_tokens") or 0),
            cache_write=int(prompt_details.get("cache_write_tokens") or 0),
            reasoning=int(completion_details.get("reasoning_tokens") or 0),
        )

    @classmethod
    def from_anthropic(cls, usage: dict[str, Any] | None) -> Tokens:
        """Anthropic's `input_tokens` leaves out cache reads and writes; they are added back here."""
        if not usage:
            return cls()
        cached = int(usage.get("cache_read_input_tokens") or 0)
        written = int(usage.get("cache_creation_input_tokens") or 0)
        return cls(
            input=int(usage.get("input_tokens") or 0) + cached + written,
            output=int(usage.get("output_tokens") or 0),
            cached=cached,
            cache_write=written,
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
