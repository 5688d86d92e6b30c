from __future__ import annotations

from sqlalchemy import JSON, Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base
from covey.models.base import IdMixin, OrgScoped, Timestamps

MODALITIES = ("chat", "embedding", "image", "transcription", "speech")


class AccessList(IdMixin, OrgScoped, Timestamps, Base):
    __tablename__ = "access_lists"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_access_lists_org_name"),)

    name: Mapped[str] = mapped_column(String(200))
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    chat: Mapped[list[str]] = mapped_column(JSON, default=list)
    embedding: Mapped[list[str]] = mapped_column(JSON, default=list)
    image: Mapped[list[str]] = mapped_column(JSON, default=list)
    transcription: Mapped[list[str]] = mapped_column(JSON, default=list)
    speech: Mapped[list[str]] = mapped_column(JSON, default=list)

    def models(self) -> set[str]:
        return {m for modality in MODALITIES for m in getattr(self, modality)}
