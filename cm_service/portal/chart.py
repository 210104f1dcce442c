"""The weekly progress chart's geometry: server-drawn SVG, no chart library.

Turns `services.reads.portal.Progress` into bars (what each week earned) and one marker
per scheduled test day (its outcome, round) and per session (how it ended, square),
in a 340-wide viewBox that scales down to a 360 px phone; a combined protocol's
session marks sit in their own band under the tests'. Colours are paired with shapes
(filled, half-filled, hollow, a bar) so the outcomes do not depend on colour vision;
the page also carries the same data as a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..services.reads.portal import Progress, WeekProgress

WIDTH, HEIGHT = 340, 236
LEFT, RIGHT = 8, 8
TOP, BASELINE = 22, 150
LABEL_Y = 167
DOTS_Y, DOT_GAP = 182, 12
BAND_GAP = 8  # between the tests' marks and the sessions' (a combined protocol)


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
    # A test: negative | not_negative | excused | pending; a session: attended |
    # late | missed | excused | pending.
    kind: str

    @property
    def x(self) -> float:  # the corner of a square mark
        return round(self.cx - 4, 1)

    @property
    def y(self) -> float:
        return round(self.cy - 4, 1)


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    dots: tuple[Dot, ...]
    max_value: int
    sessions: tuple[Dot, ...] = ()
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
    # Sessions are marked under the most tests any week has.
    tests_rows = max((len(w.outcomes) for w in weeks), default=0)
    sessions_y = DOTS_Y + (tests_rows * DOT_GAP + BAND_GAP if tests_rows else 0)
    rows_end = max(
        [DOTS_Y + (tests_rows - 1) * DOT_GAP]
        + [sessions_y + (len(w.sessions) - 1) * DOT_GAP for w in weeks if w.sessions]
    )
    bars, dots, sessions = [], [], []
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
        for j, outcome in enumerate(week.sessions):
            y = sessions_y + j * DOT_GAP
            sessions.append(Dot(round(centre, 1), y, outcome or "pending"))
    # Without tests the session marks are the last row: no empty band under them.
    height = max(HEIGHT, rows_end + 10) if tests_rows else rows_end + 14
    return Chart(tuple(bars), tuple(dots), top_value, tuple(sessions), height=height)


def _kind(outcome: str | None) -> str:
    if outcome == "negative":
        return "negative"
    if outcome in ("positive", "missed", "refused"):
        return "not_negative"
    if outcome == "excused":
        return "excused"
    return "pending"
