"""API shapes for access lists (Requesty's): a named allow-list of model ids per modality."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints, field_validator

from covey.kit.fields import Name, Strict
from covey.models import MODALITIES, AccessList

MAX_MODELS = 1000

# `provider/model`, as the gateway names models.
ModelId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _unique(models: list[str]) -> list[str]:
    """Keeps the first of each repeated id, in the order given."""
    return list(dict.fromkeys(models))


ModelList = Annotated[list[ModelId], Field(max_length=MAX_MODELS), AfterValidator(_unique)]


class AccessListCreate(Strict):
    name: Name
    auto_approve: StrictBool = False
    restricted: StrictBool = Field(default=False, description="Only org admins may attach a restricted list")
    chat: ModelList = Field(default_factory=list)
    embedding: ModelList = Field(default_factory=list)
    image: ModelList = Field(default_factory=list)
    transcription: ModelList = Field(default_factory=list)
    speech: ModelList = Field(default_factory=list)


class AccessListUpdate(Strict):
    """Any subset; a modality given replaces that modality (`[]` clears it), one omitted is untouched."""

    name: Name | None = None
    auto_approve: StrictBool | None = None
    restricted: StrictBool | None = None
    chat: ModelList | None = None
    embedding: ModelList | None = None
    image: ModelList | None = None
    transcription: ModelList | None = None
    speech: ModelList | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value


class AccessListOut(BaseModel):
    id: str
    name: str
    organization_id: str
    auto_approve: bool
    restricted: bool
    chat: list[str]
    embedding: list[str]
    image: list[str]
    transcription: list[str]
    speech: list[str]

    @classmethod
    def of(cls, access_list: AccessList) -> AccessListOut:
        return cls(
            id=access_list.id,
            name=access_list.name,
            organization_id=access_list.org_id,
            auto_approve=access_list.auto_approve,
            restricted=access_list.restricted,
            **{m: list(getattr(access_list, m) or []) for m in MODALITIES},
        )


class AccessListCreated(BaseModel):
    id: str


class AccessListEnvelope(BaseModel):
    access_list: AccessListOut


class AccessListPage(BaseModel):
    access_lists: list[AccessListOut]


class AccessListDeleted(BaseModel):
    id: str
    deleted: bool = True
