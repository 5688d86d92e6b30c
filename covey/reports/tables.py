"""The rollup tables. Each row sums the usage records of one day of the org's calendar (its timezone,
`covey.budgets.periods`) that share every dimension; the writer adds to them in the transaction that
inserts the records, so they never need a rescan.

- `usage_rollups` keeps the finest grain (key, user, the key's own group, endpoint, models,
  provider): per-user and per-key figures and Requesty's usage endpoints read it.
- `usage_group_rollups` keeps one row set per *charged* group (the key's group and every ancestor,
  fixed when the request was made, docs/design.md §3), without user or key. A group's figures including its
  subtree are a plain `WHERE group_id = :g`, each request counted once, and history does not move when
  the tree does. `own` marks the rows of the key's own group; personal-key requests are stored once
  under `group_id = ''` with `own` set, so the `own` rows of a day sum to the org's total.
- `usage_group_months` and `usage_user_months` hold the same sums per calendar month (the org's), a few
  thousand rows a month: the monthly reports (tree, trend, allocation, per group, per user) read
  these and stay fast however many requests a month holds.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from covey.kit.db import Base
from covey.models.base import OrgScoped

# Summed columns, in the order the upserts and the readers use them.
COUNTERS = (
    "requests",
    "failures",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_nanos",
    "cache_savings_nanos",
    "streaming",
    "tools",
    "structured_outputs",
    "reasoning",
)
FEATURE_COUNTERS = ("streaming", "tools", "structured_outputs", "reasoning")
MODEL_DIMENSIONS = ("endpoint", "model_requested", "model_used", "provider_used")
USAGE_DIMENSIONS = ("org_id", "day", "key_id", "user_id", "group_id", *MODEL_DIMENSIONS)
GROUP_DIMENSIONS = ("org_id", "day", "group_id", "own", *MODEL_DIMENSIONS)
GROUP_MONTH_DIMENSIONS = ("org_id", "month", "group_id", "own", *MODEL_DIMENSIONS)
USER_MONTH_DIMENSIONS = ("org_id", "month", "user_id", "group_id", *MODEL_DIMENSIONS)


class _Counters:
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cached_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    reasoning_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_savings_nanos: Mapped[int] = mapped_column(BigInteger, default=0)
    # Requests that used each feature.
    streaming: Mapped[int] = mapped_column(Integer, default=0)
    tools: Mapped[int] = mapped_column(Integer, default=0)
    structured_outputs: Mapped[int] = mapped_column(Integer, default=0)
    reasoning: Mapped[int] = mapped_column(Integer, default=0)


class _ModelDimensions:
    # Empty strings rather than NULL: NULLs never conflict in a unique key, so upserts would duplicate.
    endpoint: Mapped[str] = mapped_column(String(32))
    model_requested: Mapped[str] = mapped_column(String(200))
    model_used: Mapped[str] = mapped_column(String(200))
    provider_used: Mapped[str] = mapped_column(String(100))


class UsageRollup(OrgScoped, _ModelDimensions, _Counters, Base):
    __tablename__ = "usage_rollups"
    __table_args__ = (
        PrimaryKeyConstraint(*USAGE_DIMENSIONS, name="pk_usage_rollups"),
        Index("ix_usage_rollups_key_day", "org_id", "key_id", "day"),
        Index("ix_usage_rollups_user_day", "org_id", "user_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date)
    key_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    group_id: Mapped[str] = mapped_column(String(36))  # the key's own group; '' for a personal key


class GroupRollup(OrgScoped, _ModelDimensions, _Counters, Base):
    __tablename__ = "usage_group_rollups"
    __table_args__ = (
        PrimaryKeyConstraint(*GROUP_DIMENSIONS, name="pk_usage_group_rollups"),
        Index("ix_usage_group_rollups_group_day", "org_id", "group_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date)
    group_id: Mapped[str] = mapped_column(String(36))  # a charged group; '' for personal keys
    own: Mapped[bool] = mapped_column(Boolean)


class GroupMonthRollup(OrgScoped, _ModelDimensions, _Counters, Base):
    __tablename__ = "usage_group_months"
    __table_args__ = (
        PrimaryKeyConstraint(*GROUP_MONTH_DIMENSIONS, name="pk_usage_group_months"),
        Index("ix_usage_group_months_group_month", "org_id", "group_id", "month"),
    )

    month: Mapped[date] = mapped_column(Date)  # the first of the month
    group_id: Mapped[str] = mapped_column(String(36))
    own: Mapped[bool] = mapped_column(Boolean)


class UserMonthRollup(OrgScoped, _ModelDimensions, _Counters, Base):
    __tablename__ = "usage_user_months"
    __table_args__ = (
        PrimaryKeyConstraint(*USER_MONTH_DIMENSIONS, name="pk_usage_user_months"),
        Index("ix_usage_user_months_user_month", "org_id", "user_id", "month"),
    )

    month: Mapped[date] = mapped_column(Date)  # the first of the month
    user_id: Mapped[str] = mapped_column(String(36))
    group_id: Mapped[str] = mapped_column(String(36))  # the key's own group; '' for a personal key
