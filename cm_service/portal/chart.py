"""The weekly progress chart's geometry: server-drawn SVG, no chart library.

Turns `services.portal.Progress` into bars (what each week earned) and one marker
per scheduled test day (its outcome), in a 340 x 230 viewBox that scales down to a
360 px phone. Colours are paired with shapes (filled vs hollow) so the outcomes do
not depend on colour vision; the page also carries the same data as a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..services.portal import Progress, WeekProgress

WIDTH, HEIGHT = 340, 236
LEFT, RIGHT = 8, 8
TOP, BASELINE = 22, 150
LABEL_Y = 167
DOTS_Y, DOT_GAP = 182, 12


@dataclass(frozen=True)
class Bar:
    week: int
    x: float
    y: float
    width: float
    height: float
    centre: float
    labelled: bool


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    kind: str  # negative | not_negative | excused | pending


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    dots: tuple[Dot, ...]
    max_value: int
    width: int = WIDTH
    height: int = HEIGHT
    top: int = TOP
    baseline: int = BASELINE
    label_y: int = LABEL_Y


def value_of(week: WeekProgress, counts_draws: bool) -> int:
    return week.draws if counts_draws else week.cents


def weekly_chart(progress: Progress) -> Chart:
    weeks = progress.weeks
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(weeks))
    top_value = max((value_of(w, progress.counts_draws) for w in weeks), default=0)
    scale = (BASELINE - TOP) / top_value if top_value > 0 else 0
    # Past 12 weeks a label per week would overlap on a phone: label every other.
    every = 1 if len(weeks) <= 12 else 2
    bars, dots = [], []
    for i, week in enumerate(weeks):
        centre = LEFT + slot * (i + 0.5)
        height = max(0, value_of(week, progress.counts_draws)) * scale
        width = slot * 0.6
        bars.append(
            Bar(
                week.week,
                round(centre - width / 2, 1),
                round(BASELINE - height, 1),
                round(width, 1),
                round(height, 1),
                round(centre, 1),
                i % every == 0,
            )
        )
        for j, outcome in enumerate(week.outcomes):
            dots.append(Dot(round(centre, 1), DOTS_Y + j * DOT_GAP, _kind(outcome)))
    return Chart(tuple(bars), tuple(dots), top_value)


def _kind(outcome: str | None) -> str:
    if outcome == "negative":
        return "negative"
    if outcome in ("positive", "missed", "refused"):
        return "not_negative"
    if outcome == "excused":
        return "excused"
    return "pending"
