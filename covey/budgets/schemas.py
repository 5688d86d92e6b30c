"""API shapes for `/v1/manage/budget`: budget lines beyond Requesty's monthly fields. Money in and out
is exact decimal text (a JSON number is accepted on input)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from covey.kit.fields import Id, Money, Strict

OwnerType = Literal["key", "user", "group", "member", "org"]
Period = Literal["month", "week", "day"]
Enforcement = Literal["hard", "soft"]
Threshold = Annotated[int, Field(ge=1, le=1000, strict=True)]
Thresholds = Annotated[list[Threshold], Field(max_length=10)]
# Where a line comes from: Covey's own table, or one of Requesty's fields (edited where it lives).
Source = Literal["budget_line", "monthly_limit", "monthly_budget", "monthly_budget_per_user", "monthly_cap"]


def _thresholds(value: list[int] | None) -> list[int] | None:
    if value is None:
        return None
    if len(set(value)) != len(value):
        raise ValueError("thresholds must not repeat")
    return sorted(value)


class BudgetCreate(Strict):
    owner_type: OwnerType
    owner_id: Id | None = Field(default=None, description="The key, user or group; omitted for `org`")
    period: Period = "month"
    amount: Money = Field(description="Dollars, number or string; must be above 0")
    enforcement: Enforcement = "hard"
    thresholds: Thresholds = Field(default_factory=lambda: [50, 80, 100], description="Alert at these percents")

    _sorted = field_validator("thresholds")(_thresholds)

    @model_validator(mode="after")
    def _checks(self) -> Any:
        if self.amount <= 0:
            raise ValueError("amount must be above 0 (delete the line to remove a budget)")
        if self.owner_type != "org" and self.owner_id is None:
            raise ValueError(f"owner_id: required for a {self.owner_type} budget")
        return self


class BudgetUpdate(Strict):
    amount: Money | None = None
    enforcement: Enforcement | None = None
    thresholds: Thresholds | None = None

    _sorted = field_validator("thresholds")(_thresholds)

    @model_validator(mode="after")
    def _checks(self) -> Any:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        if self.amount is not None and self.amount <= 0:
            raise ValueError("amount must be above 0 (delete the line to remove a budget)")
        return self


class BudgetOut(BaseModel):
    id: str
    source: Source
    owner_type: OwnerType
    owner_id: str
    owner_name: str
    period: Period
    period_key: str
    amount: str
    enforcement: Enforcement
    thresholds: list[int]
    current_spend: str | None = Field(description="This period's spend; null for per-member lines or when unknown")


class BudgetList(BaseModel):
    budgets: list[BudgetOut]


class BudgetEnvelope(BaseModel):
    budget: BudgetOut


class DriftOut(BaseModel):
    counter: str
    expected: str = Field(description="Spend recomputed from the usage records")
    actual: str = Field(description="What the counter held")


class InvariantOut(BaseModel):
    org_id: str
    month: str
    holds: bool
    org_total: str
    top_level_groups: str
    personal_keys: str


class DoctorReport(BaseModel):
    healthy: bool
    repaired: bool
    checked: int
    drifts: list[DriftOut]
    invariants: list[InvariantOut]
