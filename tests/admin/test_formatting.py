"""The panel's one money format."""

from __future__ import annotations

from decimal import Decimal

import pytest

from covey.admin.chart import bar_chart
from covey.admin.formatting import dollars, limit, usd
from covey.kit.money import NANOS_PER_DOLLAR


@pytest.mark.parametrize(
    ("nanos", "shown"),
    [
        (0, "$0.00"),
        (None, "$0.00"),
        (5 * NANOS_PER_DOLLAR, "$5.00"),
        (1_500_000_000, "$1.50"),
        (10_375_146_062, "$10.38"),
        (1_234_567_890_000, "$1,234.57"),
        (766_620, "$0.00077"),
        (4_000_000, "$0.004"),
        (5_000_000, "$0.005"),
        (9_000_000, "$0.01"),
        (1, "$0.000000001"),
        (-2_500_000_000, "-$2.50"),
        (-766_620, "-$0.00077"),
    ],
)
def test_usd_shows_cents_and_more_digits_only_under_a_cent(nanos: int | None, shown: str) -> None:
    assert usd(nanos) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1234.5", "$1,234.50"),
        ("0.00076662", "$0.00077"),
        ("10.375146062", "$10.38"),
        (12.5, "$12.50"),
        (5, "$5.00"),
        (Decimal("0"), "$0.00"),
        (None, "—"),
    ],
)
def test_dollars_from_the_api_read_the_same(value: object, shown: str) -> None:
    assert dollars(value) == shown  # type: ignore[arg-type]


def test_a_limit_of_none_is_a_dash() -> None:
    assert limit(None) == "—"
    assert limit(0) == "$0.00"


def test_the_chart_labels_use_the_same_format() -> None:
    chart = bar_chart(["2026-10", "2026-11"], [766_620, 10_375_146_062])
    assert [bar.value for bar in chart.bars] == ["$0.00077", "$10.38"]
    assert chart.ticks[-1].text == "$20.00"
