"""Pausing Python's cyclic garbage collector while a large answer is built.

An answer of tens of thousands of fresh dicts has no reference cycles, yet every dict counts toward
the collector's next pass, which then walks the whole growing answer and frees nothing: a third of
the build time on the biggest usage answers. Pauses nest and may overlap across threads; the
collector runs again (if it ran before) when the last pause ends."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.was_enabled = False


_pauses = _Pauses()  # process-wide, like the collector it pauses


@contextmanager
def paused() -> Iterator[None]:
    with _pauses.lock:
        if _pauses.open == 0:
            _pauses.was_enabled = gc.isenabled()
            gc.disable()
        _pauses.open += 1
    try:
        yield
    finally:
        with _pauses.lock:
            _pauses.open -= 1
            if _pauses.open == 0 and _pauses.was_enabled:
                gc.enable()
