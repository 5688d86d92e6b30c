"""Report shapes. Money is decimal text in dollars (`"12.5"`), exact to the nano-dollar; shares are
decimal text with four places. Every report also flattens to one table, which is its CSV."""

from __future__ import annotations

from pydantic import BaseModel


class MonthSpend(BaseModel):
    month: str
    spend: str


class GroupSpend(BaseModel):
    group_id: str
    name: str
    parent_id: str | None
    monthly_budget: str | None
    months: list[MonthSpend]
    month_to_date: str
    projected: str
    projected_over_budget: bool
    last_month: str
    # Projected month over last month: "1.2500" is a quarter more; null when last month was zero.
    trend: str | None


class GroupSpendReport(BaseModel):
    month: str
    groups: list[GroupSpend]


class TreeNode(BaseModel):
    group_id: str
    name: str
    parent_id: str | None
    depth: int
    spend: str
    requests: int
    monthly_budget: str | None
    budget_used: str | None
    share_of_parent: str | None


class TreeReport(BaseModel):
    month: str
    org_total: str | None
    nodes: list[TreeNode]


class Breakdown(BaseModel):
    name: str
    requests: int
    spend: str
    input_tokens: int
    output_tokens: int
    share_of_spend: str


class FeatureUse(BaseModel):
    feature: str
    requests: int
    share_of_requests: str


class Efficiency(BaseModel):
    requests: int
    failures: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    spend: str
    cache_savings: str
    cost_per_request: str
    cost_per_1k_tokens: str


class GroupReport(BaseModel):
    month: str
    group_id: str
    name: str
    totals: Efficiency
    models: list[Breakdown]
    features: list[FeatureUse]


class UserReport(BaseModel):
    month: str
    user_id: str
    email: str | None
    totals: Efficiency
    groups: list[Breakdown]
    models: list[Breakdown]


class AllocationLine(BaseModel):
    kind: str  # "group" (spend through its own keys), "personal" (a user's personal keys), "unassigned"
    top_group_id: str | None
    top_group: str | None
    group_id: str | None
    path: str | None
    user_id: str | None
    email: str | None
    requests: int
    spend: str
    spend_nanos: int


class TopGroupTotal(BaseModel):
    group_id: str
    name: str
    spend: str
    spend_nanos: int


class AllocationReport(BaseModel):
    month: str
    org_total: str
    org_total_nanos: int
    top_groups: list[TopGroupTotal]
    personal_total: str
    unassigned_total: str
    lines: list[AllocationLine]


class Recommendation(BaseModel):
    kind: str
    message: str
    group_id: str | None = None
    user_id: str | None = None
    figures: dict[str, str | int | float | None]


class Recommendations(BaseModel):
    recommendations: list[Recommendation]


class UsageCounts(BaseModel):
    """One period's (or one group of a period's) usage, in Requesty's shape. `spend` is a number of dollars."""

    completions_requests: int
    embedding_requests: int
    image_requests: int
    speech_requests: int
    transcription_requests: int
    total_requests: int
    spend: float
    input_tokens: int
    output_tokens: int
    total_tokens: int


class GroupedUsage(UsageCounts):
    group_by_values: dict[str, str]


class PeriodUsage(UsageCounts):
    grouped_data: list[GroupedUsage]


class UsageReport(BaseModel):
    """`usage` maps each period's start (`2026-11-01T00:00:00Z`) to its figures, every period present."""

    usage: dict[str, PeriodUsage]
