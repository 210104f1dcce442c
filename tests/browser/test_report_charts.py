from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from tests.services.reads.test_report_charts import build_cohort
from tests.support.browser import (
    ARTEFACTS,
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_staff

pytestmark = pytest.mark.browser

REPORT = "/staff/reports/?from=2026-01-05&to=2026-01-25"
CHARTS = ("negative", "retention", "cost", "attendance")


def shoot_charts(page: Page, name: str) -> None:
    """The charts section alone, at the size a reader sees it."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.charts").screenshot(path=str(ARTEFACTS / f"{name}.png"))


def log_in_as_auditor(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("reader")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def cohort(live_app):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    build_cohort(make_staff(clinic, "tech"), clinic)
    make_staff(clinic, "reader", "auditor")
    release_database()


def test_an_auditor_reads_the_charts_and_their_numbers_at_tablet_width(
    page: Page, live_server, cohort
):
    page.set_viewport_size({"width": 768, "height": 1024})
    log_in_as_auditor(page, live_server)

    page.goto(f"{live_server}{REPORT}")

    for name in CHARTS:
        chart = page.locator(f"#chart-{name} svg[role=img]")
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] <= 768  # scaled to its column, not overflowing
    negative = page.get_by_role("img", name="Tests negative by week")
    expect(negative).to_be_visible()
    expect(page.locator("#chart-negative .legend")).to_contain_text("higgins-1994 v1")
    shoot_charts(page, "report-charts-768")
    screenshot(page, "report-page-768")
    assert serious_accessibility_violations(page) == []

    # The numbers behind a chart open under it.
    cost = page.locator("#chart-cost")
    cost.get_by_text("The numbers behind this chart").click()
    expect(cost.get_by_role("table")).to_contain_text("$5.68")
    page.locator("#chart-retention").get_by_text("The numbers behind").click()
    shoot_charts(page, "report-charts-768-tables")
    assert serious_accessibility_violations(page) == []


@pytest.mark.parametrize("width", [360, 1280])
def test_the_charts_fit_a_phone_and_a_desktop(page: Page, live_server, cohort, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in_as_auditor(page, live_server)

    page.goto(f"{live_server}{REPORT}")

    for name in CHARTS:
        box = page.locator(f"#chart-{name} svg[role=img]").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
    # The charts never widen the page (an open table scrolls in its own region).
    charts = page.locator("section.charts")
    assert charts.evaluate("e => e.scrollWidth <= e.clientWidth")
    shoot_charts(page, f"report-charts-{width}")
