"""Every panel route under /admin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from covey.admin import (
    access,
    account,
    audit,
    budgets,
    groups,
    insights,
    keys,
    members,
    overview,
    person,
    policies,
    requests,
    sso,
    users,
)
from covey.admin.web import PREFIX, PanelRoute, page

router = APIRouter(prefix=PREFIX, include_in_schema=False)
for module in (
    account,
    sso,
    overview,
    groups,
    members,
    budgets,
    users,
    keys,
    policies,
    insights,
    access,
    audit,
    requests,
    person,
):
    router.include_router(module.router)

_fallback = APIRouter(route_class=PanelRoute)


@_fallback.get("/{rest:path}", include_in_schema=False)
def not_found(request: Request, rest: str) -> Response:
    """Any other panel address: a page, not the API's JSON."""
    return page(request, None, "error.html", status=404, status_code=404, message=f"No page at /admin/{rest}.")


router.include_router(_fallback)
