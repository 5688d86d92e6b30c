"""API shapes for keys: Requesty's fields first, Covey's after. The secret lives only in `KeyCreated`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StringConstraints, field_validator

from covey.guardrails.schemas import GuardrailsIn, strongest
from covey.kit.clock import utcnow
from covey.kit.fields import Id, Money, Name, Strict
from covey.kit.money import nanos_to_text
from covey.models import ApiKey
from covey.ratelimits.schemas import RateLimitsIn, RateLimitsOut

Level = Literal["none", "read", "write"]
KeyStatus = Literal["active", "expired", "revoked"]

MAX_LABELS = 50
MAX_FEATURES = 50
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LabelValue = Annotated[str, StringConstraints(max_length=256)]
Labels = Annotated[dict[LabelKey, LabelValue], Field(max_length=MAX_LABELS)]
FeatureName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# Feature switches, e.g. {"streaming": false}; a key can only narrow what its group chain allows.
Features = Annotated[dict[FeatureName, StrictBool], Field(max_length=MAX_FEATURES)]


class Permissions(Strict):
    manage: Level = "none"
    completions: Level = "write"


class KeyCreate(Strict):
    name: Name
    monthly_limit: Money | None = Field(default=None, description="Dollars, number or string; 0 = unlimited")
    permissions: Permissions | None = None
    group_id: Id | None = Field(default=None, description="The key's group; none makes a personal key")
    owner_id: Id | None = Field(default=None, description="The user the key is made for (default: the caller)")
    labels: Labels | None = None
    expires_at: AwareDatetime | None = None
    access_list_id: Id | None = None
    logging: StrictBool = False
    features: Features | None = None
    rate_limits: RateLimitsIn | None = None
    guardrails: GuardrailsIn | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= utcnow():
            raise ValueError("must be in the future")
        return value


class KeyUpdate(Strict):
    """Covey's PATCH: any subset. `access_list_id: null` detaches the list."""

    name: Name | None = None
    access_list_id: Id | None = None
    features: Features | None = None
    logging: StrictBool | None = None
    permissions: Permissions | None = None
    rate_limits: RateLimitsIn | None = None
    guardrails: GuardrailsIn | None = Field(default=None, description="The categories named change")

    @field_validator("name", "features", "logging", "permissions", "rate_limits", "guardrails", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value


class KeyLimit(Strict):
    monthly_limit: Money = Field(description="Dollars, number or string; 0 removes the cap")


class KeyLabels(Strict):
    labels: Labels = Field(description="Replaces every label; {} clears them")


class KeyExpiry(Strict):
    expires_at: AwareDatetime | None = Field(description="RFC 3339; null = never expires; a past time expires it now")


class KeyCreated(BaseModel):
    """The only response that ever carries a key's secret."""

    api_key_id: str
    api_key: str


class UserRef(BaseModel):
    id: str
    email: str | None


class GroupRef(BaseModel):
    id: str


class PermissionsOut(BaseModel):
    manage: Level
    completions: Level


class KeyOut(BaseModel):
    id: str
    name: str
    monthly_limit: str = Field(description="Dollars as a decimal string; '0' = unlimited")
    monthly_spend: str = Field(description="Dollars spent this month, as a decimal string")
    permissions: PermissionsOut
    labels: dict[str, str]
    created_by: UserRef | None
    group: GroupRef | None
    logging: bool
    owner: UserRef
    prefix: str
    status: KeyStatus
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    access_list_id: str | None
    features: dict[str, bool]
    rate_limits: RateLimitsOut
    guardrails: dict[str, str]

    @classmethod
    def of(cls, key: ApiKey, *, emails: dict[str, str | None], spend: str = "0") -> KeyOut:
        now = utcnow()
        status: KeyStatus = "revoked" if key.revoked_at else "expired" if key.is_expired(now) else "active"
        creator = key.created_by
        return cls(
            id=key.id,
            name=key.name,
            monthly_limit=nanos_to_text(key.monthly_limit or 0),
            monthly_spend=spend,
            permissions=PermissionsOut(manage=key.manage, completions=key.completions),
            labels=dict(key.labels or {}),
            created_by=UserRef(id=creator, email=emails.get(creator, "")) if creator else None,
            group=GroupRef(id=key.group_id) if key.group_id else None,
            logging=key.logging,
            owner=UserRef(id=key.owner_id, email=emails.get(key.owner_id, "")),
            prefix=key.prefix,
            status=status,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            created_at=key.created_at,
            access_list_id=key.access_list_id,
            features={k: bool(v) for k, v in (key.features or {}).items()},
            rate_limits=RateLimitsOut.of(key.rate_limits),
            guardrails=strongest([key.guardrails]),
        )


class KeyList(BaseModel):
    keys: list[KeyOut]
