from __future__ import annotations

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
BADGE = "benzodiazepines: exempt, clonazepam prescribed, since 2026-01-05"


def test_staff_add_an_exemption_on_the_record_and_see_it_on_check_in(
    page: Page, live_server, live_app, clock
):
    # Given a participant whose first specimen was positive for a prescribed drug
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person, _ = make_enrolled(staff, clinic, targets=["cocaine", "benzodiazepines"])
    checkins.record_specimen(
        staff,
        person.id,
        START,
        {"cocaine": "negative", "benzodiazepines": "positive"},
        now=NOW,
    )
    record_url = f"{live_server}/staff/participants/{person.id}"
    release_database()
    page.set_viewport_size(TABLET)
    log_in(page, live_server)

    # When staff open the record and add the exemption, first without a medication
    page.goto(record_url)
    expect(page.locator("#balance")).to_have_text("0 points · $0.00")
    page.get_by_label("Exempt substance").select_option("benzodiazepines")
    page.get_by_label("Exempt from").fill("2026-01-05")
    page.get_by_role("button", name="Add exemption").click()
    expect(page.locator("#x-medication-error")).to_have_text(
        "Name the prescribed medication."
    )
    page.get_by_label("Prescribed medication").fill("clonazepam")
    page.get_by_role("button", name="Add exemption").click()

    # Then the badge shows on the record and the covered positive paid as a negative
    expect(page.get_by_role("status")).to_have_text(
        "Exemption added. Ledger adjusted: +10 points."
    )
    expect(page.locator(".tag-exempt")).to_have_text(BADGE)
    expect(page.locator("#balance")).to_have_text("10 points · $2.50")
    screenshot(page, "staff-exemption-record")
    assert serious_accessibility_violations(page) == []

    # And on the check-in form
    page.get_by_role("main").get_by_role("link", name="Check in", exact=True).click()
    expect(page.get_by_role("heading", name="All negative")).to_be_visible()
    expect(page.locator(".tag-exempt")).to_have_text(BADGE)
    screenshot(page, "staff-exemption-checkin")
    assert serious_accessibility_violations(page) == []
