"""Month-to-date spend from the counters, for the management API's views of groups, members, keys and
users (Requesty's `monthly_spend`). Handlers receive a `SpendDep` and fill the views they return."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request

from covey.budgets.guard import Guard
from covey.budgets.lines import member_scope
from covey.kit.money import nanos_to_number, nanos_to_text
from covey.state import get_budgets


class MonthSpend:
    def __init__(self, guard: Guard | None) -> None:
        self.guard = guard

    def nanos(self, org_id: str, scopes: Sequence[str]) -> list[int]:
        if self.guard is None or not scopes:
            return [0] * len(scopes)
        return self.guard.month_spend(org_id, scopes)

    def groups(self, views: Iterable[Any]) -> None:
        """Sets `monthly_spend` on group views (and on their `members` and `children`, when present)."""
        flat: list[Any] = []

        def walk(view: Any) -> None:
            flat.append(view)
            for child in getattr(view, "children", None) or ():
                walk(child)

        for view in views:
            walk(view)
        if not flat:
            return
        org_id = flat[0].organization_id
        scopes = [f"group:{v.id}" for v in flat]
        members = [(v, m) for v in flat for m in getattr(v, "members", None) or ()]
        scopes += [member_scope(v.id, m.id) for v, m in members]
        values = self.nanos(org_id, scopes)
        for view, value in zip(flat, values, strict=False):
            view.monthly_spend = nanos_to_number(value)
        for (_, member), value in zip(members, values[len(flat) :], strict=True):
            member.monthly_spend = nanos_to_number(value)

    def keys(self, org_id: str, views: Sequence[Any]) -> None:
        """Keys show spend as decimal text, as Requesty's key views do."""
        for view, value in zip(views, self.nanos(org_id, [f"key:{v.id}" for v in views]), strict=True):
            view.monthly_spend = nanos_to_text(value)

    def users(self, org_id: str, views: Sequence[Any]) -> None:
        for view, value in zip(views, self.nanos(org_id, [f"user:{v.id}" for v in views]), strict=True):
            view.monthly_spend = nanos_to_number(value)


def month_spend(request: Request) -> MonthSpend:
    return MonthSpend(get_budgets(request).guard)


SpendDep = Annotated[MonthSpend, Depends(month_spend)]
