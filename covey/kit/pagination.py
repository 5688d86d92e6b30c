from __future__ import annotations

from dataclasses import dataclass

from fastapi import Query

MAX_LIMIT = 500
# Beyond any real listing, and within every database's OFFSET (a 64-bit integer).
MAX_OFFSET = 10**9


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_params(
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="Items per page"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip"),
) -> Page:
    return Page(limit=limit, offset=offset)
