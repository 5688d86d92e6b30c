"""Unusual usage as a pure rule: today's spend far above the owner's own recent baseline."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

BASELINE_DAYS = 14


def is_unusual(*, today: int, history: Sequence[int], factor: float, floor: int) -> bool:
    """`history` is the daily spend of the last `BASELINE_DAYS` days (days without spend are 0)."""
    return today > floor and today > factor * baseline(history)


def baseline(history: Sequence[int]) -> int:
    return int(median(history)) if history else 0
