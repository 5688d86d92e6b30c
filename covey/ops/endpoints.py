from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from covey.auth.deps import get_db
from covey.config import Settings
from covey.kit.errors import Unauthorized
from covey.ops.metrics import Metrics

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
    gateway = getattr(request.state, "gateway", None)
    if gateway is not None:
        checks["usage_writer"] = gateway.writer.readiness()
    budgets = getattr(request.state, "budgets", None)
    if budgets is not None:
        checks["budget_counters"] = budgets.readiness()
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
    settings: Settings = request.state.settings
    if settings.metrics_token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise Unauthorized("Send the metrics token (COVEY_METRICS_TOKEN) as `Authorization: Bearer <token>`")
    figures: Metrics = request.state.metrics
    return Response(figures.render(), media_type=CONTENT_TYPE_LATEST)
