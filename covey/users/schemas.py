from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from covey.kit.fields import Email, ExternalId, Money, Name, Strict
from covey.kit.money import nanos_to_number
from covey.models import User
from covey.ratelimits.schemas import RateLimitsIn, RateLimitsOut

OrgRole = Literal["owner", "admin", "member"]
GroupRole = Literal["admin", "member"]


class UserCreate(Strict):
    email: Email
    name: Name | None = None
    role: OrgRole = "member"
    monthly_limit: Money | None = None
    external_id: ExternalId | None = None
    rate_limits: RateLimitsIn | None = None


class UserUpdate(Strict):
    email: Email | None = None
    name: Name | None = None
    role: OrgRole | None = None
    monthly_limit: Money | None = None
    external_id: ExternalId | None = None
    rate_limits: RateLimitsIn | None = None


class UserGroupRef(BaseModel):
    id: str
    name: str
    role: GroupRole | None  # None for a group reached only as an ancestor
    expired: bool


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: OrgRole
    status: Literal["active", "deactivated"]
    active: bool
    monthly_limit: float | None
    monthly_spend: float = 0
    external_id: str | None
    created_at: datetime
    rate_limits: RateLimitsOut = Field(default_factory=RateLimitsOut)
    groups: list[UserGroupRef] | None = None

    @classmethod
    def of(cls, user: User, groups: list[UserGroupRef] | None = None) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            status=user.status,
            active=user.active,
            monthly_limit=None if user.monthly_limit is None else nanos_to_number(user.monthly_limit),
            external_id=user.external_id,
            created_at=user.created_at,
            rate_limits=RateLimitsOut.of(user.rate_limits),
            groups=groups,
        )


class UserCreated(BaseModel):
    user_id: str
    user: UserOut


class UserEnvelope(BaseModel):
    user: UserOut


class UserPage(BaseModel):
    users: list[UserOut]
    total: int
    limit: int
    offset: int


class UserGroups(BaseModel):
    direct: list[UserGroupRef]
    effective: list[UserGroupRef]
