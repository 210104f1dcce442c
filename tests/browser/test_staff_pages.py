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


def test_staff_log_in_and_read_a_participants_ledger(page: Page, live_server, live_app):
    # Given a clinic with one participant who gave three negatives
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person, _ = make_enrolled(staff, clinic)
    for offset in (0, 2, 4):
        checkins.record_specimen(
            staff,
            person.id,
            START + timedelta(days=offset),
            {"cocaine": "negative"},
            now=NOW,
        )
    release_database()

    # When staff log in
    page.goto(f"{live_server}/staff/login")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()

    # Then, from the participants list, they see the participant and, one click
    # on, the explained awards
    page.get_by_role("navigation").get_by_role("link", name="Participants").click()
    expect(page.get_by_role("link", name="P-0001")).to_be_visible()
    screenshot(page, "staff-participants")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="P-0001").click()
    expect(page.locator("#balance")).to_have_text(re.compile(r"85 points · \$21\.25"))
    expect(page.locator("#run")).to_contain_text("3 negatives in a row")
    expect(page.locator("#ledger")).to_contain_text("bonus")
    screenshot(page, "staff-participant-detail")
    assert serious_accessibility_violations(page) == []


def test_a_wrong_password_is_reported_next_to_the_field(
    page: Page, live_server, live_app
):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "tech")
    release_database()

    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator("#password-error")).to_have_text("Wrong username or password.")
    screenshot(page, "staff-login-error")
    assert serious_accessibility_violations(page) == []
