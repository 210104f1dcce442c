from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins
from tests.browser.test_staff_checkin import TABLET, log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, START, make_enrolled, make_staff

pytestmark = pytest.mark.browser


def test_staff_void_a_wrong_positive_and_see_the_ledger_adjust(
    page: Page, live_server, live_app, clock
):
    # Given a negative, a positive typed in error, and a negative
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person, _ = make_enrolled(staff, clinic)
    for offset, result in ((0, "negative"), (2, "positive"), (4, "negative")):
        checkins.record_specimen(
            staff,
            person.id,
            START + timedelta(days=offset),
            {"cocaine": result},
            now=NOW,
        )
    record_url = f"{live_server}/staff/participants/{person.id}"
    release_database()
    page.set_viewport_size(TABLET)
    log_in(page, live_server)

    # When staff open the record and void the positive with a reason
    page.goto(record_url)
    expect(page.locator("#balance")).to_have_text("20 points · $5.00")
    screenshot(page, "staff-participant-record")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Void the specimen of 2026-01-07").click()
    page.get_by_role("button", name="Void this event").click()
    expect(page.locator("#reason-error")).to_have_text(
        "Give the reason for the correction."
    )
    page.get_by_label("Reason for the correction").fill("Lab re-test was negative")
    screenshot(page, "staff-void-event")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Void this event").click()

    # Then the event stays, marked void, and the ledger shows the adjustment
    expect(page.get_by_role("status")).to_contain_text("Ledger adjusted: +5 points")
    expect(page.locator("#events")).to_contain_text("voided: Lab re-test was negative")
    expect(page.locator("#ledger")).to_contain_text("Correction: was 10, now 15")
    expect(page.locator("#balance")).to_have_text("25 points · $6.25")
    screenshot(page, "staff-participant-after-void")
