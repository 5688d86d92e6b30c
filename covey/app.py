"""Assembles the ASGI app from the routers of each domain; nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from covey.access.endpoints import router as access_router
from covey.admin.router import router as admin_router
from covey.alerts.endpoints import alert_router, webhook_router
from covey.audit.endpoints import router as audit_router
from covey.auth.endpoints import router as auth_router
from covey.auth.gate import ControlPlaneGate
from covey.budgets.endpoints import doctor_router
from covey.budgets.endpoints import router as budgets_router
from covey.budgets.runtime import BudgetsRuntime
from covey.config import Settings
from covey.gateway.endpoints import GatewayPaths, gateway_routes
from covey.gateway.runtime import GatewayRuntime
from covey.groups.endpoints import router as groups_router
from covey.keys.endpoints import router as keys_router
from covey.kit.db import Database
from covey.kit.error_handlers import install_error_handlers
from covey.ops.endpoints import router as ops_router
from covey.ops.metrics import Metrics
from covey.orgs.endpoints import router as orgs_router
from covey.policies.endpoints import router as policies_router
from covey.reports import endpoints as reports
from covey.scim.endpoints import router as scim_router
from covey.scim.token_endpoints import router as scim_token_router
from covey.sso.endpoints import router as sso_router
from covey.sso.issuer import Issuers
from covey.state import State
from covey.usage.endpoints import router as requests_router
from covey.users.endpoints import router as users_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[State]:
        db = Database.connect(
            settings.database_url, pool_size=settings.database_pool_size, max_overflow=settings.database_max_overflow
        )
        metrics = Metrics(shared=settings.prometheus_multiproc_dir is not None)
        budgets = await BudgetsRuntime.start(settings, db)
        gateway = await GatewayRuntime.start(settings, db, metrics=metrics, budgets=budgets.guard)
        budgets.follow_ledger(gateway.gateway.writer)
        try:
            yield State(
                settings=settings,
                db=db,
                gateway=gateway.gateway,
                budgets=budgets,
                metrics=metrics,
                issuers=Issuers(allowed_hosts=settings.oidc_allowed_hosts),
            )
        finally:
            await gateway.stop()
            await budgets.stop()
            db.dispose()

    app = FastAPI(
        title="Covey",
        summary="Self-hosted LLM gateway with governance for organizations",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry hook looks up providers on every request: off, it costs nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.add_middleware(ControlPlaneGate)  # strangers refused, bodies bounded, before anything is parsed
    app.add_middleware(GatewayPaths)  # the hot path, in plain ASGI ahead of FastAPI's routing
    app.router.routes[0:0] = gateway_routes()
    app.include_router(policies_router, prefix="/v1/manage")
    app.include_router(sso_router, prefix="/v1/manage")
    for router in (keys_router, groups_router, access_router, orgs_router, users_router, audit_router, requests_router):
        app.include_router(router, prefix="/v1/manage")
    for router in (reports.usage_router, reports.router, reports.recommendations_router):
        app.include_router(router, prefix="/v1/manage")
    for router in (budgets_router, doctor_router, webhook_router, alert_router):
        app.include_router(router, prefix="/v1/manage")
    app.include_router(scim_token_router, prefix="/v1/manage")
    app.include_router(scim_router, prefix="/scim/v2")
    app.include_router(auth_router)
    app.include_router(ops_router)
    app.include_router(admin_router)
    return app
