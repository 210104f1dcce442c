from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, START, make_enrolled, make_staff

pytestmark = pytest.mark.browser
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def front_desk(live_app, clock):
    """A clinic on Monday 2026-02-02 with two participants due to test."""
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    first, _ = make_enrolled(staff, clinic, code="P-0001")
    second, _ = make_enrolled(staff, clinic, code="P-0002")
    for offset in (0, 2, 4):
        checkins.record_specimen(
            staff,
            second.id,
            START + timedelta(days=offset),
            {"cocaine": "negative"},
            now=NOW,
        )
    release_database()
    return first, second


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def test_staff_record_a_negative_from_the_today_board_and_see_the_award(
    page: Page, live_server, front_desk
):
    # Given staff on a tablet, logged in
    page.set_viewport_size(TABLET)
    log_in(page, live_server)

    # Then they land on today's board with both participants waiting
    expect(page.get_by_role("heading", name=re.compile("^Today"))).to_be_visible()
    expect(page.locator("#count-waiting")).to_have_text("2")
    screenshot(page, "staff-today")
    assert serious_accessibility_violations(page) == []

    # When they click a row and record all negative
    page.get_by_role("link", name="P-0001").click()
    expect(page.get_by_role("heading", name="All negative")).to_be_visible()
    screenshot(page, "staff-checkin")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Record all negative").click()

    # Then the award, the balance, the run and the next negative's value show
    expect(page.locator("#earned")).to_contain_text("+10 points ($2.50)")
    expect(page.locator("#explanations")).to_contain_text("the starting value")
    expect(page.locator("#balance")).to_have_text("10 points · $2.50")
    expect(page.locator("#run")).to_have_text("1 negative in a row")
    expect(page.locator("#next")).to_contain_text("15 points ($3.75)")
    screenshot(page, "staff-checkin-result")
    assert serious_accessibility_violations(page) == []

    # And the board now shows them checked in
    page.get_by_role("link", name="Back to today").click()
    expect(page.locator("#count-checked-in")).to_have_text("1")


def test_staff_record_a_positive_by_code_and_see_the_run_reset(
    page: Page, live_server, front_desk
):
    log_in(page, live_server)

    # When staff type a code and pick a positive result
    page.get_by_label("Participant code").fill("p-0002")
    page.get_by_role("button", name="Check in").click()
    page.get_by_label("Cocaine").select_option("positive")
    page.get_by_role("button", name="Record specimen").click()

    # Then nothing is earned, the run is back to zero, the next negative restarts
    expect(page.locator("#recorded")).to_contain_text("cocaine positive")
    expect(page.locator("#earned")).to_have_text("Nothing this time.")
    expect(page.locator("#run")).to_have_text("0 negatives in a row")
    expect(page.locator("#next")).to_contain_text("10 points ($2.50)")
    expect(page.locator("#balance")).to_have_text("85 points · $21.25")
    screenshot(page, "staff-checkin-positive")


def test_a_missing_result_is_reported_next_to_its_field(
    page: Page, live_server, front_desk
):
    log_in(page, live_server)
    page.get_by_role("link", name="P-0001").click()

    page.get_by_role("button", name="Record specimen").click()

    expect(page.locator("#s-result_cocaine-error")).to_have_text(
        "Choose the cocaine result."
    )
    screenshot(page, "staff-checkin-error")
    assert serious_accessibility_violations(page) == []
