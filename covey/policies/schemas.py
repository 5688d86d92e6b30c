from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from covey.kit.fields import Description, Strict
from covey.models import RoutingPolicy

PolicyType = Literal["fallback", "load_balancing"]
PolicyName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
ModelRef = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^/\s]+/\S+$", max_length=200)]


class PolicyTarget(Strict):
    model: ModelRef  # "provider/model" or "policy/<name>"
    retries: int = Field(0, ge=0, le=10)
    weight: float = Field(1, gt=0, le=1_000_000)


class PolicyCreate(Strict):
    name: PolicyName
    type: PolicyType
    description: Description = ""
    targets: list[PolicyTarget] = Field(min_length=1, max_length=20)


class PolicyUpdate(Strict):
    name: PolicyName | None = None
    type: PolicyType | None = None
    description: Description | None = None
    targets: list[PolicyTarget] | None = Field(None, min_length=1, max_length=20)


class PolicyOut(BaseModel):
    id: str
    name: str
    model: str  # what callers put in `model`: "policy/<name>"
    type: PolicyType
    description: str
    targets: list[PolicyTarget]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, policy: RoutingPolicy) -> PolicyOut:
        return cls(
            id=policy.id,
            name=policy.name,
            model=f"policy/{policy.name}",
            type=policy.type,
            description=policy.description,
            targets=[PolicyTarget.model_validate(t) for t in policy.targets],
            created_at=policy.created_at,
            updated_at=policy.updated_at,
        )


class PolicyCreated(BaseModel):
    id: str
    policy: PolicyOut


class PolicyEnvelope(BaseModel):
    policy: PolicyOut


class PolicyPage(BaseModel):
    policies: list[PolicyOut]


class PolicyDeleted(BaseModel):
    id: str
