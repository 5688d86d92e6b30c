"""A small bar chart drawn as SVG by the template: this module only does the geometry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from covey.admin.formatting import usd

WIDTH = 640
HEIGHT = 240
_TOP = 16
_BOTTOM = 30
_LEFT = 64


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    empty: bool


def _nice_ceiling(nanos: int) -> int:
    """The next round amount at or above `nanos` (1, 2 or 5 times a power of ten dollars-cents)."""
    step = 10_000_000  # one cent
    while True:
        for factor in (1, 2, 5):
            if step * factor >= nanos:
                return step * factor
        step *= 10


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(key: str, *, first: bool) -> str:
    """`2026-11` → `Nov`; January, and the first bar, carry the year: `Jan 26`."""
    year, month = key.split("-")
    name = _MONTHS[int(month) - 1]
    return f"{name} {year[2:]}" if first or month == "01" else name


@dataclass(frozen=True)
class _Scale:
    """The plot area both charts draw on: `top`, a round amount at or above the largest value, at its
    top edge, and the months side by side across it, `slot` wide each."""

    top: int
    plot_h: int
    slot: float
    empty: bool

    @property
    def baseline(self) -> int:
        return _TOP + self.plot_h

    def left(self, i: int) -> float:
        """Where month `i`'s slot begins."""
        return _LEFT + i * self.slot

    def bar(self, value: int, *, x: float, width: float, label: str) -> Bar:
        h = self.plot_h * value / self.top
        return Bar(x=x, y=_TOP + self.plot_h - h, width=width, height=h, label=label, value=usd(value))

    def ticks(self) -> list[Tick]:
        return [Tick(y=_TOP + self.plot_h * (1 - f), text=usd(int(self.top * f))) for f in (0, 0.5, 1)]


def _scale(values: Iterable[int], *, slots: int, width: int, height: int) -> _Scale:
    values = list(values)
    return _Scale(
        top=_nice_ceiling(max(values, default=0) or 1),
        plot_h=height - _TOP - _BOTTOM,
        slot=(width - _LEFT) / max(slots, 1),
        empty=not any(values),
    )


def bar_chart(labels: Sequence[str], values: Sequence[int], *, width: int = WIDTH, height: int = HEIGHT) -> Chart:
    scale = _scale(values, slots=len(values), width=width, height=height)
    bars = [
        scale.bar(
            value,
            x=scale.left(i) + scale.slot * 0.18,
            width=scale.slot * 0.64,
            label=month_label(label, first=i == 0) if len(label) == 7 else label,
        )
        for i, (label, value) in enumerate(zip(labels, values, strict=True))
    ]
    return Chart(
        width=width,
        height=height,
        left=_LEFT,
        baseline=scale.baseline,
        bars=bars,
        ticks=scale.ticks(),
        empty=scale.empty,
    )


@dataclass(frozen=True)
class Spark:
    """One month's bar of a row's small chart."""

    x: float
    y: float
    height: float
    label: str


SPARK_WIDTH = 8
SPARK_GAP = 3
SPARK_HEIGHT = 22


def sparks(labels: Sequence[str], values: Sequence[int], *, top: int) -> list[Spark]:
    """A row's months as small bars on a scale shared by the rows (`top`, the largest value)."""
    out = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = SPARK_HEIGHT * value / top if top else 0
        # A month with any spend stays visible, however small beside the largest.
        h = max(h, 1.0) if value else 0.0
        out.append(Spark(x=i * (SPARK_WIDTH + SPARK_GAP), y=SPARK_HEIGHT - h, height=h, label=f"{label}: {usd(value)}"))
    return out


@dataclass(frozen=True)
class Series:
    """One group's bars in a comparison chart: its name, its colour's index and its legend entry."""

    name: str
    index: int
    bars: list[Bar]


@dataclass(frozen=True)
class Comparison:
    width: int
    height: int
    left: int
    baseline: float
    months: list[Bar]  # where each month's label goes (x, and the label)
    series: list[Series]
    ticks: list[Tick]
    empty: bool


COMPARED = 6  # groups compared side by side at most; the palette has as many colours


def comparison(
    labels: Sequence[str], groups: Sequence[tuple[str, Sequence[int]]], *, width: int = WIDTH, height: int = HEIGHT
) -> Comparison:
    """Groups' spend month by month, side by side on one scale: for each month a cluster of bars, one
    per group, in the order given (at most `COMPARED`)."""
    groups = list(groups)[:COMPARED]
    scale = _scale((v for _, values in groups for v in values), slots=len(labels), width=width, height=height)
    bar_w = scale.slot * 0.8 / max(len(groups), 1)
    months = [
        Bar(x=scale.left(i) + scale.slot / 2, y=0, width=0, height=0, label=month_label(m, first=i == 0), value="")
        for i, m in enumerate(labels)
    ]
    series = [
        Series(
            name=name,
            index=n,
            bars=[
                scale.bar(
                    value,
                    x=scale.left(i) + scale.slot * 0.1 + n * bar_w,
                    width=bar_w * 0.9,
                    label=f"{name}, {month_label(m, first=True)}",
                )
                for i, (m, value) in enumerate(zip(labels, values, strict=True))
            ],
        )
        for n, (name, values) in enumerate(groups)
    ]
    return Comparison(
        width=width,
        height=height,
        left=_LEFT,
        baseline=scale.baseline,
        months=months,
        series=series,
        ticks=scale.ticks(),
        empty=scale.empty,
    )
