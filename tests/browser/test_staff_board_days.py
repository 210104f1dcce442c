"""The Today board on a tablet: the code box has the focus, and the day switch moves
to tomorrow and to the week, each page clean under axe."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import appointments, checkins, groups
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.clock import freeze
from tests.support.factories import NOW, make_enrolled, make_staff

pytestmark = pytest.mark.browser
TABLET = {"width": 768, "height": 1024}
TUESDAY = datetime(2026, 2, 3, 20, 0, tzinfo=UTC)  # 14:00 in Chicago


@pytest.fixture
def clinic_on_tuesday(live_app, monkeypatch):
    """Tuesday 3 Feb: one Higgins participant missed Monday, one came; an
    attendance participant is booked for Wednesday and a group meets Thursday."""
    freeze(monkeypatch, lambda: TUESDAY)
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    make_enrolled(staff, clinic, code="P-0001")
    came, _ = make_enrolled(staff, clinic, code="P-0002")
    checkins.record_specimen(
        staff, came.id, NOW.date(), {"cocaine": "negative"}, now=NOW
    )
    member, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0003")
    appointments.book(
        staff, member.id, "individual", date(2026, 2, 4), time(10), now=NOW
    )
    groups.create_group(staff, "Thursday group", "group", 3, time(10), now=NOW)
    release_database()


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def test_the_board_switches_to_tomorrow_and_the_week_on_a_tablet(
    page: Page, live_server, clinic_on_tuesday
):
    page.set_viewport_size(TABLET)
    log_in(page, live_server)

    expect(page.locator("#code")).to_be_focused()
    expect(page.locator("#missed")).to_contain_text("P-0001")
    expect(page.locator("#next-day")).to_contain_text("next: Wed 4 Feb")
    screenshot(page, "board-today-768")
    assert serious_accessibility_violations(page) == []

    switch = page.get_by_role("navigation", name="Day")
    switch.get_by_role("link", name="Tomorrow").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wednesday 04")
    expect(page.locator("#waiting")).to_have_text("Due to test")
    screenshot(page, "board-tomorrow-768")
    assert serious_accessibility_violations(page) == []

    switch.get_by_role("link", name="This week").click()
    expect(page.locator("#week-2026-02-05")).to_contain_text("Thursday group")
    screenshot(page, "board-week-768")
    assert serious_accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
