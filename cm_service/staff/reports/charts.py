"""SVG geometry for the report's charts: pure (no Flask, no database, no JS).

Numbers in (int or Fraction), drawing instructions out (floats rounded to 0.1 and
path strings), so a template only loops and prints. Two shapes:

- `line_chart`: several named series of (week, percent) points, y from 0 to 100 %;
  a series is told apart by its colour *and* its dash pattern *and* its marker
  shape, so the chart still reads in greyscale or with colour blindness.
- `bar_chart`: labelled horizontal bars, the label above each bar and its value
  printed at the bar's end (long protocol names never collide with the bars).

Both draw in a fixed viewBox that the page scales to its container's width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

Number = int | Fraction

# Colours with at least 4.5:1 contrast on white (WCAG 1.4.11 asks 3:1 for graphics),
# ordered so that the first two (blue, orange) stay distinct for red-green colour
# blindness; dashes and markers carry the distinction anyway.
COLOURS = ("#0072b2", "#bc4c00", "#6f42c1", "#1a7f37", "#c2185b", "#57606a")
DASHES = ("", "8 4", "2 4", "10 4 2 4", "4 4", "1 3")
# The sixth series repeats the circle; its grey dotted line tells it apart.
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "circle")
MARKER_SIZE = 4.5

# Text size in viewBox units. A chart is 400 units wide and drawn 336 px (a 360 px
# phone) to 512 px wide, so its text shows at 13 to 20 px.
FONT = 16
# The line chart's viewBox and plot area.
WIDTH = 400
HEIGHT = 268
LEFT, RIGHT = 58, 388  # the plot's edges; y labels ("100%": 46 units) left of LEFT
TOP, BOTTOM = 12, 212  # y = 100 % at TOP, 0 % at BOTTOM: 2 units per percent
INSET = 12  # the first and last week sit this far inside the plot (markers whole)
Y_TICKS = (0, 25, 50, 75, 100)
MAX_X_LABELS = 12

# The bar chart: one row per bar, its label above it.
ROW = 52
BAR_LEFT = 16  # room for the centred "0%" under the first gridline
BAR_SPAN = 280  # the longest bar; leaves 98 units for its value ("$1,234.56")
BAR_HEIGHT = 20


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[int, Number | None]]  # (week, percent); None: no value


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number | None  # None: nothing to draw, only `text`
    text: str  # what to print at the bar's end, e.g. "$5.68" or "no negative tests"


@dataclass(frozen=True)
class Segment:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Label:
    x: float
    y: float  # the text's baseline
    text: str
    anchor: str = "middle"  # start | middle | end (SVG text-anchor)


@dataclass(frozen=True)
class Line:
    """One series as drawn: its path (gaps where a week has no value) and markers."""

    name: str
    colour: str
    dash: str
    path: str
    points: tuple[tuple[float, float], ...]
    markers: tuple[str, ...]  # one marker path per point
    swatch: str  # the marker for the legend's 40 x 16 swatch, centred at (20, 8)


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    font: int
    grid: tuple[Segment, ...]
    axis: Segment
    labels: tuple[Label, ...]  # y ticks, x ticks and the x axis title
    lines: tuple[Line, ...]
    empty: str | None  # the message shown instead of a chart with nothing in it

    @property
    def legend(self) -> tuple[Line, ...]:
        return self.lines


@dataclass(frozen=True)
class DrawnBar:
    label: Label
    x: float
    y: float
    width: float
    height: float
    value: Label


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    font: int
    grid: tuple[Segment, ...]
    labels: tuple[Label, ...]  # the scale's tick labels, if any
    bars: tuple[DrawnBar, ...]
    colour: str
    empty: str | None


def line_chart(
    series: Sequence[Series], *, empty: str, x_title: str = "Enrolment week"
) -> LineChart:
    """Percent (0..100) by week, one styled line per series.

    With no value in any series, the chart has nothing to draw: `empty` holds the
    message to show instead.
    """
    weeks = [w for s in series for w, y in s.points if y is not None]
    if not weeks:
        return LineChart(WIDTH, HEIGHT, FONT, (), _x_axis(), (), (), empty)
    first, last = min(weeks), max(weeks)
    lines = tuple(
        _line(s, index, first, last) for index, s in enumerate(series) if s.points
    )
    labels = (*_y_labels(), *_x_labels(first, last), _x_title(x_title))
    return LineChart(WIDTH, HEIGHT, FONT, _y_grid(), _x_axis(), labels, lines, None)


def x_of(week: int, first: int, last: int) -> float:
    """Weeks spread evenly across the plot; a single week sits in the middle."""
    if first == last:
        return _round((LEFT + RIGHT) / 2)
    span = RIGHT - LEFT - 2 * INSET
    return _round(LEFT + INSET + Fraction(span * (week - first), last - first))


def y_of(percent: Number) -> float:
    if not 0 <= percent <= 100:
        raise ValueError(f"a percentage from 0 to 100, not {percent}")
    return _round(BOTTOM - Fraction(BOTTOM - TOP) * Fraction(percent) / 100)


def _line(series: Series, index: int, first: int, last: int) -> Line:
    style = index % len(COLOURS)
    marker = MARKERS[style]
    points: list[tuple[float, float] | None] = [
        None if y is None else (x_of(w, first, last), y_of(y))
        for w, y in sorted(series.points, key=lambda p: p[0])
    ]
    drawn = tuple(p for p in points if p is not None)
    return Line(
        name=series.name,
        colour=COLOURS[style],
        dash=DASHES[style],
        path=_path(points),
        points=drawn,
        markers=tuple(marker_path(marker, x, y) for x, y in drawn),
        swatch=marker_path(marker, 20, 8),
    )


def _path(points: Sequence[tuple[float, float] | None]) -> str:
    """Move to each run's first point, then draw; a week without a value breaks
    the line rather than bridging it (a gap is not a trend)."""
    parts: list[str] = []
    previous = None
    for point in points:
        if point is not None:
            command = "L" if previous is not None else "M"
            parts.append(f"{command}{_n(point[0])} {_n(point[1])}")
        previous = point
    return "".join(parts)


def marker_path(shape: str, x: float, y: float, r: float = MARKER_SIZE) -> str:
    """A filled marker centred on (x, y), as one SVG path."""
    if shape == "square":
        s = r - 0.5  # a square looks larger than a circle of the same width
        return f"M{_n(x - s)} {_n(y - s)}h{_n(2 * s)}v{_n(2 * s)}h{_n(-2 * s)}Z"
    if shape in ("triangle", "triangle-down"):
        sign = 1 if shape == "triangle" else -1
        r = r * 1.2
        tip, base = y - sign * r, y + sign * r * 0.75
        return f"M{_n(x)} {_n(tip)}L{_n(x + r)} {_n(base)}L{_n(x - r)} {_n(base)}Z"
    if shape == "diamond":
        r = r * 1.25
        return (
            f"M{_n(x)} {_n(y - r)}L{_n(x + r)} {_n(y)}"
            f"L{_n(x)} {_n(y + r)}L{_n(x - r)} {_n(y)}Z"
        )
    return (
        f"M{_n(x - r)} {_n(y)}a{_n(r)} {_n(r)} 0 1 0 {_n(2 * r)} 0"
        f"a{_n(r)} {_n(r)} 0 1 0 {_n(-2 * r)} 0Z"
    )


def _y_grid() -> tuple[Segment, ...]:
    return tuple(Segment(LEFT, y_of(v), RIGHT, y_of(v)) for v in Y_TICKS if v)


def _x_axis() -> Segment:
    return Segment(LEFT, BOTTOM, RIGHT, BOTTOM)


def _y_labels() -> tuple[Label, ...]:
    # +6 puts the middle of the digits on the gridline.
    return tuple(Label(LEFT - 6, y_of(v) + 6, f"{v}%", "end") for v in Y_TICKS)


def _x_labels(first: int, last: int) -> tuple[Label, ...]:
    """Every week up to 12 of them; beyond that every 2nd, 3rd... so that labels
    never overlap, always starting from the first week shown."""
    step = max(1, math.ceil((last - first + 1) / MAX_X_LABELS))
    return tuple(
        Label(x_of(w, first, last), BOTTOM + 22, str(w))
        for w in range(first, last + 1, step)
    )


def _x_title(text: str) -> Label:
    return Label((LEFT + RIGHT) / 2, HEIGHT - 6, text)


def bar_chart(
    bars: Sequence[Bar],
    *,
    empty: str,
    maximum: Number | None = None,
    ticks: Sequence[int] = (),
    tick_format: str = "{}",
) -> BarChart:
    """Horizontal bars scaled to `maximum` (default: the largest value).

    `ticks` draws vertical gridlines labelled with `tick_format` under the bars
    (for a percentage: 0, 25, 50, 75, 100 and "{}%").
    """
    if not bars:
        return BarChart(WIDTH, ROW, FONT, (), (), (), COLOURS[0], empty)
    values = [b.value for b in bars if b.value is not None]
    scale = Fraction(maximum if maximum is not None else max(values, default=0))
    drawn = tuple(_bar(b, i, scale) for i, b in enumerate(bars))
    bottom = len(bars) * ROW
    grid = tuple(Segment(_bar_x(t, scale), 0, _bar_x(t, scale), bottom) for t in ticks)
    labels = tuple(
        Label(_bar_x(t, scale), bottom + 20, tick_format.format(t)) for t in ticks
    )
    height = bottom + (30 if ticks else 4)
    return BarChart(WIDTH, height, FONT, grid, labels, drawn, COLOURS[0], None)


def _bar_x(value: Number, scale: Fraction) -> float:
    return _round(BAR_LEFT + (BAR_SPAN * Fraction(value) / scale if scale else 0))


def _bar(bar: Bar, index: int, scale: Fraction) -> DrawnBar:
    top = index * ROW
    if bar.value is not None and bar.value < 0:
        raise ValueError(f"a bar from 0 up, not {bar.value}")
    end = _bar_x(bar.value or 0, scale)
    return DrawnBar(
        label=Label(BAR_LEFT, top + 17, bar.label, "start"),
        x=BAR_LEFT,
        y=top + 24,
        width=_round(end - BAR_LEFT),
        height=BAR_HEIGHT,
        value=Label(
            BAR_LEFT if bar.value is None else end + 6, top + 40, bar.text, "start"
        ),
    )


def _round(value: Number | float) -> float:
    return round(float(value), 1)


def _n(value: float) -> str:
    """A coordinate as short as it goes: 56.0 -> "56", 112.5 -> "112.5"."""
    return f"{round(value, 1):g}"
