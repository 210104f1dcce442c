from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Enrollment
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import participants
from tests.browser.test_staff_checkin import TABLET, log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_staff

pytestmark = pytest.mark.browser


def test_staff_register_and_enrol_a_participant(
    page: Page, live_server, live_app, clock
):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "tech")
    release_database()
    page.set_viewport_size(TABLET)
    log_in(page, live_server)

    page.get_by_role("navigation").get_by_role("link", name="Participants").click()
    page.get_by_role("link", name="Register a participant").click()
    page.get_by_label("Participant code").fill("P-0042")
    page.get_by_label("Portal PIN (optional, 6 to 12 digits)").fill("12ab")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#pin-error")).to_have_text("The PIN is 6 to 12 digits.")
    screenshot(page, "staff-register")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Portal PIN (optional, 6 to 12 digits)").fill("284917")
    page.get_by_role("button", name="Register").click()

    expect(page.get_by_role("status")).to_contain_text("Registered P-0042")
    page.get_by_label("Protocol version").select_option(index=3)
    page.get_by_label("Start date").fill("2026-01-05")
    screenshot(page, "staff-enroll")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Enrol").click()

    expect(page.get_by_role("status")).to_have_text("Enrolled.")
    expect(page.get_by_role("heading", name="P-0042")).to_be_visible()


def test_staff_enrol_on_a_phone_by_ticking_days_and_substances(
    page: Page, live_server, live_app, clock
):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person = participants.register_participant(staff, clinic.id, "P-0042", now=NOW)
    person_id = person.id
    release_database()
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server)

    page.goto(f"{live_server}/staff/participants/{person_id}/enroll")
    # The protocol by its short name; the start date is the clinic's today.
    page.get_by_label("Protocol version").select_option(
        label="Escalating vouchers, cocaine (v1)"
    )
    expect(page.get_by_label("Start date")).to_have_value("2026-02-02")
    days = page.get_by_role("group", name="Testing days")
    days.get_by_label("Mon").check()
    days.get_by_label("Thu").check()
    targets = page.get_by_role("group", name="Target substances")
    targets.get_by_label("Cocaine", exact=True).check()
    targets.get_by_label("MDMA/ecstasy").check()
    screenshot(page, "staff-enroll-phone")
    assert serious_accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name="Enrol").click()

    expect(page.get_by_role("status")).to_have_text("Enrolled.")
    enrollment = db.session.scalars(select(Enrollment)).one()
    assert enrollment.testing_days == {"0": [0, 3]}
    assert enrollment.targets == ["cocaine", "mdma"]
    assert enrollment.start_on.isoformat() == "2026-02-02"
