"""Each report flattened to one table: the CSV answer (`?format=csv` or `Accept: text/csv`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from covey.reports.schemas import (
    AllocationReport,
    Efficiency,
    GroupReport,
    GroupSpendReport,
    Recommendations,
    TreeReport,
    UserReport,
)

Table = tuple[list[str], list[list[Any]]]


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt.lower() == "csv"
    return "text/csv" in request.headers.get("accept", "")


# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR, may strip
# them and read what follows as one): `=HYPERLINK(…)` in a group's name must arrive as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """A cell as a spreadsheet should show it: text that could start a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(table: Table, filename: str) -> Response:
    header, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralize(v) for v in header])
    writer.writerows([neutralize(v) for v in row] for row in rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def _fields(model: BaseModel, names: Sequence[str]) -> list[Any]:
    data = model.model_dump()
    return [data[n] for n in names]


_SPEND = ["group_id", "name", "parent_id", "monthly_budget", "month_to_date", "projected", "projected_over_budget"]


def group_spend_table(report: GroupSpendReport) -> Table:
    header = [*_SPEND, "month", "spend"]
    rows = [[*_fields(g, _SPEND), m.month, m.spend] for g in report.groups for m in g.months]
    return header, rows


_NODE = [
    "group_id",
    "name",
    "parent_id",
    "depth",
    "spend",
    "requests",
    "monthly_budget",
    "budget_used",
    "share_of_parent",
]


def tree_table(report: TreeReport) -> Table:
    return ["month", *_NODE], [[report.month, *_fields(n, _NODE)] for n in report.nodes]


_EFFICIENCY = list(Efficiency.model_fields)
# Totals get their own columns: a CSV header names each column once.
_TOTALS = [f"total_{name}" for name in _EFFICIENCY]
_BREAKDOWN = ["name", "requests", "spend", "input_tokens", "output_tokens", "share_of_spend"]


def group_report_table(report: GroupReport) -> Table:
    header = ["section", *_BREAKDOWN, "feature", "share_of_requests", *_TOTALS]
    blank_b, blank_e = [None] * len(_BREAKDOWN), [None] * len(_EFFICIENCY)
    rows: list[list[Any]] = [["total", *blank_b, None, None, *_fields(report.totals, _EFFICIENCY)]]
    rows += [["model", *_fields(m, _BREAKDOWN), None, None, *blank_e] for m in report.models]
    rows += [
        ["feature", None, f.requests, *[None] * 4, f.feature, f.share_of_requests, *blank_e] for f in report.features
    ]
    return header, rows


def user_report_table(report: UserReport) -> Table:
    header = ["section", *_BREAKDOWN, *_TOTALS]
    blank_b, blank_e = [None] * len(_BREAKDOWN), [None] * len(_EFFICIENCY)
    rows: list[list[Any]] = [["total", *blank_b, *_fields(report.totals, _EFFICIENCY)]]
    rows += [["group", *_fields(b, _BREAKDOWN), *blank_e] for b in report.groups]
    rows += [["model", *_fields(b, _BREAKDOWN), *blank_e] for b in report.models]
    return header, rows


_LINE = [
    "kind",
    "top_group_id",
    "top_group",
    "group_id",
    "path",
    "user_id",
    "email",
    "requests",
    "spend",
    "spend_nanos",
]


def allocation_table(report: AllocationReport) -> Table:
    return ["month", *_LINE], [[report.month, *_fields(line, _LINE)] for line in report.lines]


def recommendations_table(report: Recommendations) -> Table:
    header = ["kind", "group_id", "user_id", "message", "figures"]
    rows = [
        [r.kind, r.group_id, r.user_id, r.message, "; ".join(f"{k}={v}" for k, v in r.figures.items())]
        for r in report.recommendations
    ]
    return header, rows
