from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from covey.kit.errors import Unauthorized
from covey.state import get_budgets, get_db, get_gateway, get_metrics, get_settings

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The process can serve: its database answers, its usage writer keeps up, its budget counters answer",
)
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        get_db(request).ping()
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    checks["usage_writer"] = get_gateway(request).writer.readiness()
    checks["budget_counters"] = get_budgets(request).readiness()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics (with COVEY_METRICS_TOKEN set, send it as a Bearer token)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    settings = get_settings(request)
    if settings.metrics_token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise Unauthorized("Send the metrics token (COVEY_METRICS_TOKEN) as `Authorization: Bearer <token>`")
    figures = get_metrics(request)
    return Response(figures.render(), media_type=CONTENT_TYPE_LATEST)
