"""The outcome report's four figures: each a chart and the table of its numbers.

Joins the series (`services.reads.report_charts`, exact) to the drawing
(`reports.charts`, pure geometry) and words them: a title, a description that
says what the chart shows for a screen reader, and a table holding every value
the chart draws, rounded as the rest of the page rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from ...rules.money import format_cents, round_half_up
from ...services.reads.report_charts import (
    CLINIC,
    CostPerNegative,
    Rate,
    ReportSeries,
    Weekly,
)
from ...services.reads.report_exports import shown
from . import charts

# A table cell: its value and a detail shown under it ("80.0%", "4 of 5"), so that
# narrow columns break between the two rather than inside either.
Cell = tuple[str, str]


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]  # the first names the row headers
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]  # (row header, cells)


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    description: str
    chart: charts.LineChart | charts.BarChart
    table: Table

    @property
    def kind(self) -> str:
        return "line" if isinstance(self.chart, charts.LineChart) else "bar"


def report_figures(series: ReportSeries) -> tuple[Figure, ...]:
    return (
        _weekly_figure(
            "chart-negative",
            "Tests negative by week",
            "Percent of scheduled tests that were negative (excused tests left "
            "out, missed ones counted against), by enrolment week, per protocol.",
            series.negative_by_week,
            empty="No tests in this window.",
        ),
        _weekly_figure(
            "chart-retention",
            "Retention by week",
            "Percent of episodes still coming at each enrolment week (a specimen "
            "or an attended session that week or later), among episodes whose "
            "course had reached the end of that week.",
            series.retention_by_week,
            empty="No episode has finished a week of its course in this window.",
        ),
        _cost_figure(series.cost_per_negative),
        _attendance_figure(series.attendance),
    )


def percent(rate: Rate) -> str:
    value = shown(rate.percent)
    return "—" if value is None else f"{value}%"


def money(value: Fraction | None) -> str:
    return "—" if value is None else format_cents(round_half_up(value))


def _weekly_figure(
    id_: str, title: str, what: str, weekly: Weekly, *, empty: str
) -> Figure:
    chart = charts.line_chart(
        [
            charts.Series(name, [(w, r.percent) for w, r in weeks.items()])
            for name, weeks in weekly.items()
        ],
        empty=empty,
    )
    weeks = sorted({w for found in weekly.values() for w in found})
    table = Table(
        title,
        ("Week", *weekly),
        tuple(
            (str(w), tuple(_cell(found.get(w)) for found in weekly.values()))
            for w in weeks
        ),
    )
    return Figure(id_, title, f"{what} {_trends(weekly)}", chart, table)


def _cell(rate: Rate | None) -> Cell:
    if rate is None:
        return ("—", "")
    return (percent(rate), f"{rate.part} of {rate.whole}")


def _plain(*values: str) -> tuple[Cell, ...]:
    return tuple((value, "") for value in values)


def _trends(weekly: Weekly) -> str:
    """One sentence per series: where it starts and ends."""
    said = []
    for name, found in weekly.items():
        valued = [(w, r) for w, r in found.items() if r.percent is not None]
        if valued:
            (w1, r1), (w2, r2) = valued[0], valued[-1]
            said.append(
                f"{name}: {percent(r1)} in week {w1}, {percent(r2)} in week {w2}."
            )
    return " ".join([*said, "The table that follows gives every week."])


def _cost_figure(costs: Mapping[str, CostPerNegative]) -> Figure:
    title = "Cost per negative test by protocol"
    bars = [
        charts.Bar(name, c.per_negative, _per_negative_text(c))
        for name, c in costs.items()
    ]
    table = Table(
        title,
        ("Protocol", "Cost earned", "Negative tests", "Cost per negative"),
        tuple(
            (name, _plain(money(c.cents), str(c.negatives), money(c.per_negative)))
            for name, c in costs.items()
        ),
    )
    said = " ".join(f"{b.label}: {b.text}." for b in bars)
    return Figure(
        "chart-cost",
        title,
        "What was earned (vouchers plus draws at their expected value) per "
        f"negative test, per protocol that schedules tests.{_clinic_cost(costs)} "
        f"{said}",
        charts.bar_chart(bars, empty="No tests in this window."),
        table,
    )


def _clinic_cost(costs: Mapping[str, CostPerNegative]) -> str:
    if CLINIC not in costs:
        return ""
    return (
        f" {CLINIC}, as in the clinic summary, counts the episodes with tests "
        "(attendance-only ones have no negatives)."
    )


def _per_negative_text(cost: CostPerNegative) -> str:
    return (
        "no negative tests" if cost.per_negative is None else money(cost.per_negative)
    )


def _attendance_figure(rates: Mapping[str, Rate]) -> Figure:
    title = "Sessions attended by protocol"
    bars = [
        charts.Bar(name, r.percent, percent(r) if r.whole else "all excused")
        for name, r in rates.items()
    ]
    table = Table(
        title,
        ("Protocol", "Attended", "Booked (excused left out)", "% attended"),
        tuple(
            (name, _plain(str(r.part), str(r.whole), percent(r)))
            for name, r in rates.items()
        ),
    )
    said = " ".join(f"{b.label}: {b.text}." for b in bars)
    return Figure(
        "chart-attendance",
        title,
        "Percent of booked sessions attended (late arrivals count as attended, "
        f"excused sessions are left out), per protocol with booked sessions. {said}",
        charts.bar_chart(
            bars,
            empty="No booked sessions in this window.",
            maximum=100,
            ticks=(0, 25, 50, 75, 100),
            tick_format="{}%",
        ),
        table,
    )
