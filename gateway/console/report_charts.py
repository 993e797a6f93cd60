"""Server-rendered SVG charts for the reporting dashboard: pure geometry, drawn by `_chart.html`.

Line charts (a rate over time, one line per series) and horizontal bar charts (one bar per label, its
value written beside it). Series differ by colour and by dash pattern, so colour is never the only cue;
every chart also has its data table on the page.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Okabe-Ito colours (distinguishable with colour blindness), all dark enough on white for lines
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8B6A00", "#3B7EA1", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 44
MAX_X_LABELS = 8
BAR_ROW, BAR_LABEL_W, BAR_MAX_W = 26, 310, 250


@dataclass(frozen=True)
class Style:
    colour: str
    dash: str


def style(index: int) -> Style:
    # 7 colours by 4 dashes: the first 28 series all differ in both ways at once (7 and 4 are coprime)
    return Style(COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)])


@dataclass(frozen=True)
class Series:
    label: str
    style: Style
    points: str  # the polyline's "x,y x,y ..."
    dots: tuple[tuple[float, float, str], ...]  # each point with its value in words (the dot's title)


@dataclass(frozen=True)
class LineChart:
    id: str
    title: str
    x_labels: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    series: tuple[Series, ...]
    width: int = WIDTH
    height: int = HEIGHT
    kind: str = "line"
    empty: bool = False


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    width: float
    text: str
    style: Style


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = 0
    label_width: int = BAR_LABEL_W
    kind: str = "bar"
    empty: bool = field(default=False)


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span / 2 if n == 1 else span * i / (n - 1))


def _y(value: float, top: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    return round(TOP + span * (1 - (value / top if top else 0)), 1)


def line_chart(chart_id: str, title: str, x: Sequence[str], lines: dict[str, dict[str, float | None]],
               fmt: Callable[[float | None], str] = percent, top: float = 1.0) -> LineChart:
    """`lines`: series label -> x label -> value (None or missing: no point there). Values 0..top."""
    n = len(x)
    step = max(1, -(-n // MAX_X_LABELS))
    x_labels = tuple((round(_x(i, n), 1), label) for i, label in enumerate(x) if i % step == 0)
    ticks = tuple((_y(top * f, top), fmt(top * f)) for f in (0, 0.25, 0.5, 0.75, 1))
    series = []
    for k, (label, values) in enumerate(sorted(lines.items())):
        pts = [(round(_x(i, n), 1), _y(float(v), top), f"{label} · {xl}: {fmt(v)}")
               for i, xl in enumerate(x) if (v := values.get(xl)) is not None]
        series.append(Series(label, style(k), " ".join(f"{px},{py}" for px, py, _ in pts), tuple(pts)))
    return LineChart(chart_id, title, x_labels, ticks, tuple(series), empty=not any(s.dots for s in series))


def bar_chart(chart_id: str, title: str, values: Sequence[tuple[str, float | None]],
              fmt: Callable[[float | None], str] = lambda v: "" if v is None else f"{v:g}") -> BarChart:
    """One bar per (label, value), longest for the largest; the value written beside each."""
    top = max((v for _, v in values if v is not None), default=0) or 1
    bars = tuple(Bar(label[:48], 8 + i * BAR_ROW, round(BAR_MAX_W * (v or 0) / top, 1), fmt(v), style(0))
                 for i, (label, v) in enumerate(values))
    return BarChart(chart_id, title, bars, height=16 + BAR_ROW * max(1, len(bars)), empty=not bars)
