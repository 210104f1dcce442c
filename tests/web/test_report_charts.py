"""The report charts: the pure SVG geometry, the figures' words and tables, and the
staff page that shows the four charts with a table behind each."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

from cm_service.services.reads.report_charts import CostPerNegative, Rate, ReportSeries
from cm_service.staff.reports import charts, figures
from tests.services.reads.test_report_charts import LATER, build_cohort
from tests.support.clock import freeze
from tests.support.factories import make_staff
from tests.support.web import log_in

WINDOW = "from=2026-01-05&to=2026-01-25"


# The line chart's geometry -------------------------------------------------------


def test_percentages_map_onto_the_plot_from_bottom_to_top():
    # 2 units per percent between TOP (100 %) and BOTTOM (0 %).
    assert [charts.y_of(v) for v in (0, 25, 50, 75, 100)] == [212, 162, 112, 62, 12]
    assert charts.y_of(Fraction(250, 3)) == 45.3  # 83.33 %, rounded to 0.1 unit


def test_weeks_spread_across_the_plot_and_a_single_week_sits_in_the_middle():
    assert [charts.x_of(w, 1, 3) for w in (1, 2, 3)] == [70, 223, 376]
    assert charts.x_of(5, 5, 5) == 223


def test_a_series_is_drawn_through_its_points():
    chart = charts.line_chart(
        [charts.Series("A", [(1, 100), (2, 50), (3, 0)])], empty="none"
    )

    (line,) = chart.lines
    assert line.points == ((70, 12), (223, 112), (376, 212))
    assert line.path == "M70 12L223 112L376 212"
    assert len(line.markers) == 3
    assert line.markers[0] == "M65.5 12a4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0 -9 0Z"
    assert chart.empty is None


def test_a_week_without_a_value_breaks_the_line():
    chart = charts.line_chart(
        [charts.Series("A", [(3, 50), (1, 50), (2, None)])], empty="none"
    )

    assert chart.lines[0].path == "M70 112M376 112"
    assert chart.lines[0].points == ((70, 112), (376, 112))


def test_the_axes_are_labelled_in_percent_and_weeks():
    chart = charts.line_chart([charts.Series("A", [(1, 10), (3, 20)])], empty="")

    texts = [label.text for label in chart.labels]
    assert texts == ["0%", "25%", "50%", "75%", "100%", "1", "2", "3", "Enrolment week"]
    y_labels = {label.text: (label.x, label.y, label.anchor) for label in chart.labels}
    assert y_labels["50%"] == (52, 118, "end")  # left of the plot, on its gridline
    assert [g.y1 for g in chart.grid] == [162, 112, 62, 12]


def test_long_courses_label_every_other_week_so_labels_do_not_overlap():
    chart = charts.line_chart([charts.Series("A", [(1, 10), (24, 20)])], empty="")

    weeks = [label.text for label in chart.labels if label.text.isdigit()]
    assert weeks == [str(w) for w in range(1, 24, 2)]


def test_series_differ_in_colour_dash_and_marker_and_the_legend_names_them():
    chart = charts.line_chart(
        [charts.Series(name, [(1, 50)]) for name in ("A", "B", "C", "D")],
        empty="",
    )

    legend = chart.legend
    assert [entry.name for entry in legend] == ["A", "B", "C", "D"]
    for attribute in ("colour", "dash", "swatch"):
        assert len({getattr(entry, attribute) for entry in legend}) == 4
    # The swatch marker is centred in its 40 x 16 legend box.
    assert legend[1].swatch == "M16 4h8v8h-8Z"


def test_nothing_to_draw_gives_the_message_instead_of_a_chart():
    for series in ([], [charts.Series("A", [(1, None)])]):
        chart = charts.line_chart(series, empty="No tests in this window.")

        assert chart.empty == "No tests in this window."
        assert chart.lines == ()


def test_a_percentage_outside_0_to_100_is_a_mistake():
    with pytest.raises(ValueError, match="0 to 100"):
        charts.line_chart([charts.Series("A", [(1, 101)])], empty="")


# The bar chart's geometry --------------------------------------------------------


def test_percent_bars_scale_to_100_with_labelled_gridlines():
    chart = charts.bar_chart(
        [charts.Bar("A", 50, "50%"), charts.Bar("B", None, "all excused")],
        empty="",
        maximum=100,
        ticks=(0, 25, 50, 75, 100),
        tick_format="{}%",
    )

    a, b = chart.bars
    assert (a.x, a.y, a.width, a.height) == (16, 24, 140, 20)
    # The label above its bar.
    assert (a.label.x, a.label.y, a.label.text) == (16, 17, "A")
    assert (a.value.x, a.value.text) == (162, "50%")  # the value after its end
    assert (b.y, b.width, b.value.x, b.value.text) == (76, 0, 16, "all excused")
    assert [g.x1 for g in chart.grid] == [16, 86, 156, 226, 296]
    assert [label.text for label in chart.labels] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.height == 2 * 52 + 30


def test_bars_without_a_maximum_scale_to_the_largest_value():
    chart = charts.bar_chart(
        [charts.Bar("A", Fraction(6250, 11), "$5.68"), charts.Bar("B", 284, "$2.84")],
        empty="",
    )

    assert [bar.width for bar in chart.bars] == [280, 140]
    assert chart.grid == ()
    assert chart.labels == ()


def test_no_bars_gives_the_message():
    assert charts.bar_chart([], empty="No booked sessions.").empty == (
        "No booked sessions."
    )


# The figures: words and tables ----------------------------------------------------

SERIES = ReportSeries(
    negative_by_week={"h v1": {1: Rate(4, 5), 2: Rate(0, 0), 3: Rate(2, 6)}},
    retention_by_week={"h v1": {1: Rate(2, 2), 2: Rate(1, 2)}},
    cost_per_negative={"h v1": CostPerNegative(Fraction(6250), 11)},
    attendance={"g v1": Rate(2, 3)},
)


def test_each_figure_has_a_table_with_every_value_it_draws():
    negative, retention, cost, attendance = figures.report_figures(SERIES)

    assert negative.table.columns == ("Week", "h v1")
    assert negative.table.rows == (
        ("1", (("80.0%", "4 of 5"),)),
        ("2", (("—", "0 of 0"),)),  # every test that week excused
        ("3", (("33.33%", "2 of 6"),)),
    )
    assert retention.table.rows[1] == ("2", (("50.0%", "1 of 2"),))
    assert cost.table.rows == (("h v1", (("$62.50", ""), ("11", ""), ("$5.68", ""))),)
    assert attendance.table.rows == (("g v1", (("2", ""), ("3", ""), ("66.67%", ""))),)
    assert [f.kind for f in (negative, retention, cost, attendance)] == [
        "line",
        "line",
        "bar",
        "bar",
    ]


def test_descriptions_give_a_screen_reader_the_gist():
    negative, _, cost, attendance = figures.report_figures(SERIES)

    assert "h v1: 80.0% in week 1, 33.33% in week 3." in negative.description
    assert "h v1: $5.68." in cost.description
    assert "g v1: 66.67%." in attendance.description


def test_an_empty_report_says_so_in_every_figure():
    empty = ReportSeries({}, {}, {}, {})

    found = figures.report_figures(empty)

    assert [f.chart.empty for f in found] == [
        "No tests in this window.",
        "No episode has finished a week of its course in this window.",
        "No tests in this window.",
        "No booked sessions in this window.",
    ]


# The staff page ------------------------------------------------------------------


@pytest.fixture
def client(app, monkeypatch):
    freeze(monkeypatch, lambda: LATER)
    return app.test_client()


def plots(page: str) -> list[ET.Element]:
    """Every chart's SVG, parsed as XML (so it is well formed)."""
    found = re.findall(r'<svg class="plot".*?</svg>', page, re.S)
    # Our own page's markup, not untrusted input.
    return [ET.fromstring(svg) for svg in found]  # noqa: S314


def test_the_report_page_shows_four_charts_each_with_its_table(client, clinic, staff):
    build_cohort(staff, clinic)
    make_staff(clinic, "reader", "auditor")
    log_in(client, "reader")

    page = client.get(f"/staff/reports/?{WINDOW}").get_data(as_text=True)

    svgs = plots(page)
    assert len(svgs) == 4
    for svg, name in zip(
        svgs, ("negative", "retention", "cost", "attendance"), strict=True
    ):
        assert svg.get("role") == "img"
        assert svg.get("aria-labelledby") == f"chart-{name}-title chart-{name}-desc"
        assert svg.find("title").get("id") == f"chart-{name}-title"
        assert svg.find("desc").text
        assert f'<caption id="chart-{name}-caption">' in page
    negative, retention, cost, attendance = svgs
    # One Higgins line with 3 markers; retention: the clinic and 2 protocols.
    assert len(negative.findall("g[@class='series']")) == 1
    assert len(retention.findall("g[@class='series']")) == 3
    assert len(cost.findall("g[@class='bar']")) == 1  # Higgins, the one that tests
    assert len(attendance.findall("g[@class='bar']")) == 2
    detail = '<td class="num">{}<span class="detail">{}</span></td>'
    assert detail.format("80.0%", "4 of 5") in page
    assert detail.format("33.33%", "1 of 3") in page  # clinic retention, week 3
    assert '<td class="num">$5.68</td>' in page
    assert "All protocols: $" not in page  # one protocol tests: no clinic bar
    assert '<td class="num">66.67%</td>' in page
    assert page.count('<ul class="legend"') == 2


def test_an_empty_window_shows_messages_not_empty_charts(client, clinic):
    make_staff(clinic, "reader", "auditor")
    log_in(client, "reader")

    page = client.get(f"/staff/reports/?{WINDOW}").get_data(as_text=True)

    assert plots(page) == []
    assert page.count('<p class="chart-empty">No tests in this window.</p>') == 2
    assert "No booked sessions in this window." in page
