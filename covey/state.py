"""What the lifespan hands every request (`request.state`, `scope["state"]`), typed, and one
dependency per resource, so a handler's signature names what it uses."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import Depends, Request

from covey.budgets.runtime import BudgetsRuntime
from covey.config import Settings
from covey.gateway.service import Gateway
from covey.kit.db import Database
from covey.ops.metrics import Metrics
from covey.sso.issuer import Issuers


class State(TypedDict):
    settings: Settings
    db: Database
    gateway: Gateway
    budgets: BudgetsRuntime
    metrics: Metrics
    issuers: Issuers


def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.state.db
    return db


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.state.gateway
    return gateway


def get_budgets(request: Request) -> BudgetsRuntime:
    budgets: BudgetsRuntime = request.state.budgets
    return budgets


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.state.metrics
    return metrics


def get_issuers(request: Request) -> Issuers:
    issuers: Issuers = request.state.issuers
    return issuers


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
BudgetsDep = Annotated[BudgetsRuntime, Depends(get_budgets)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
IssuersDep = Annotated[Issuers, Depends(get_issuers)]
