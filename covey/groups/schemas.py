"""API shapes for groups and memberships: Requesty's fields first, Covey's tree fields after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints, model_validator

from covey.guardrails.schemas import GuardrailsIn
from covey.kit.fields import Description, ExternalId, Id, Money, Name, Strict
from covey.ratelimits.schemas import RateLimitsIn, RateLimitsOut

GroupKind = Literal["department", "project", "function", "custom"]
GroupRole = Literal["admin", "member"]
FeatureName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Features = Annotated[dict[FeatureName, StrictBool], Field(max_length=64)]
MAX_BULK = 1000


def _utc(value: datetime) -> datetime:
    # A timestamp without an offset is read as UTC rather than refused: scripts often omit the `Z`.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]


class _Budgets(Strict):
    # Requesty's convention: 0 (or null) means unlimited. A group's `monthly_limit` caps each member
    # separately, so it is the same number as `monthly_budget_per_user`.
    monthly_limit: Money | None = None
    monthly_budget: Money | None = None
    monthly_budget_per_user: Money | None = None

    @model_validator(mode="after")
    def _one_per_user_limit(self) -> Any:
        given = self.model_fields_set
        if (
            "monthly_limit" in given
            and "monthly_budget_per_user" in given
            and (self.monthly_limit or 0) != (self.monthly_budget_per_user or 0)
        ):
            raise ValueError("monthly_limit and monthly_budget_per_user are the same setting and differ")
        return self


class GroupCreate(_Budgets):
    name: Name
    parent_id: Id | None = None
    kind: GroupKind = "custom"
    description: Description = ""
    default: StrictBool = False
    expires_at: Timestamp | None = None
    access_list_id: Id | None = None
    features: Features = Field(default_factory=dict)
    external_id: ExternalId | None = None
    rate_limits: RateLimitsIn | None = Field(default=None, description="Of the whole subtree")
    rate_limits_per_member: RateLimitsIn | None = Field(
        default=None, description="Of each member's requests through the group"
    )
    guardrails: GuardrailsIn | None = Field(default=None, description='e.g. {"pii": "mask", "secrets": "block"}')


# Fields of a PATCH that may be sent as null: the rest are refused when null rather than guessed at.
_NULLABLE = frozenset(
    {
        "parent_id",
        "expires_at",
        "access_list_id",
        "external_id",
        "monthly_limit",
        "monthly_budget",
        "monthly_budget_per_user",
    }
)


class GroupUpdate(_Budgets):
    """Only the fields present in the body change; `parent_id: null` moves the group to the top level,
    and `features`, when given, replaces the whole map."""

    name: Name | None = None
    parent_id: Id | None = None
    kind: GroupKind | None = None
    description: Description | None = None
    default: StrictBool | None = None
    expires_at: Timestamp | None = None
    access_list_id: Id | None = None
    features: Features | None = None
    external_id: ExternalId | None = None
    rate_limits: RateLimitsIn | None = Field(default=None, description="The limits named change; 0 removes one")
    rate_limits_per_member: RateLimitsIn | None = None
    guardrails: GuardrailsIn | None = Field(default=None, description="The categories named change")

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Any:
        for name in sorted(self.model_fields_set - _NULLABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self


class MemberAdd(Strict):
    user_id: Id
    role: GroupRole = "member"


class MemberRef(Strict):
    user_id: Id


class RoleChange(Strict):
    role: GroupRole


class MemberRateLimit(Strict):
    rate_limit: Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)] | None = Field(
        description="Requests per minute for this member through this group; 0 or null removes it"
    )


class BulkAdd(Strict):
    user_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK)]
    role: GroupRole = "member"


class MemberMove(Strict):
    to_group_id: Id
    role: GroupRole | None = None


class MemberOut(BaseModel):
    """Requesty's member fields (`monthly_limit` is the user's own cap), plus Covey's."""

    id: str
    email: str | None
    name: str
    role: GroupRole
    monthly_limit: float | None
    monthly_spend: float
    rate_limit: int | None
    active: bool
    group_id: str
    added_at: datetime
    added_by: str | None


class GroupOut(BaseModel):
    id: str
    organization_id: str
    name: str
    members_count: int
    monthly_spend: float
    monthly_limit: float | None
    monthly_budget: float | None
    monthly_budget_per_user: float | None
    created_by: str | None
    created_at: datetime
    parent_id: str | None
    kind: GroupKind
    description: str
    default: bool
    expires_at: datetime | None
    expired: bool
    access_list_id: str | None
    features: dict[str, bool]
    external_id: str | None
    rate_limits: RateLimitsOut = Field(default_factory=RateLimitsOut)
    rate_limits_per_member: RateLimitsOut = Field(default_factory=RateLimitsOut)
    guardrails: dict[str, str] = Field(default_factory=dict)


class GroupDetail(GroupOut):
    members: list[MemberOut]


class TreeNode(GroupOut):
    """`members_count` counts direct members; `total_members` distinct users anywhere in the subtree."""

    total_members: int
    children: list[TreeNode]


class GroupList(BaseModel):
    groups: list[GroupOut]


class GroupCreated(BaseModel):
    group_id: str
    group: GroupOut


class GroupEnvelope(BaseModel):
    group: GroupOut


class GroupDetailEnvelope(BaseModel):
    group: GroupDetail


class GroupTree(BaseModel):
    tree: list[TreeNode]


class MemberEnvelope(BaseModel):
    member: MemberOut


class BulkAddResult(BaseModel):
    added: list[str]
    already_members: list[str]
