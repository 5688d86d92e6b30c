from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from covey.kit.fields import Email, ExternalId, Money, Name, Strict, UserName
from covey.kit.money import nanos_to_number
from covey.models import User
from covey.ratelimits.schemas import RateLimitsIn, RateLimitsOut

OrgRole = Literal["owner", "admin", "member"]
GroupRole = Literal["admin", "member"]


class UserCreate(Strict):
    """A person has an email, a user_name (the identity provider's identifier), or both. Without an
    email they own keys and are charged as anyone, but cannot get a panel password."""

    email: Email | None = None
    user_name: UserName | None = None
    name: Name | None = None
    role: OrgRole = "member"
    monthly_limit: Money | None = None
    external_id: ExternalId | None = None
    rate_limits: RateLimitsIn | None = None

    @model_validator(mode="after")
    def _named(self) -> UserCreate:
        if self.email is None and self.user_name is None:
            raise ValueError("email is required (or user_name, for a person without an email)")
        return self


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
    email: str | None
    user_name: str | None
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
            user_name=user.user_name,
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
