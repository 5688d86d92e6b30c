"""Shared columns, and the one function through which every org-scoped query is written."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, overload

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import Select

from covey.kit.clock import utcnow
from covey.kit.db import Base, UTCDateTime
from covey.kit.ids import new_id


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class OrgScoped:
    org_id: Mapped[str] = mapped_column(String(36), ForeignKey("organizations.id", ondelete="CASCADE"), index=True)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


M = TypeVar("M", bound=OrgScoped)


@overload
def in_org(model: type[M], org_id: str) -> Select[M]: ...
@overload
def in_org(model: type[M], org_id: str, *columns: Any) -> Select[Any]: ...
def in_org(model: type[M], org_id: str, *columns: Any) -> Select[Any]:
    """`SELECT … FROM model WHERE org_id = :org_id`: no repository reads org data any other way."""
    stmt = select(*columns) if columns else select(model)
    return stmt.where(model.org_id == org_id)


__all__ = ["Base", "IdMixin", "OrgScoped", "Timestamps", "in_org"]
