"""Funding programs in a browser at 360 px: an admin adds a preset in one click,
funds a participant's enrollment from a date, and a bad end date comes back next
to its field; every page axe-clean (docs/funding.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from tests.browser.test_staff_protocol_builder import log_in_as_admin
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_enrolled, make_staff

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def enrolled(live_app):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    admin = make_staff(clinic, "boss", role="admin")
    person, _ = make_enrolled(admin, clinic, code="P-0001")
    person_id = person.id
    release_database()
    return person_id


def test_an_admin_adds_samhsa_and_funds_an_enrollment_on_a_phone(
    page: Page, live_server, enrolled
):
    page.set_viewport_size({"width": 1024, "height": 900})
    log_in_as_admin(page, live_server)
    page.set_viewport_size(PHONE)

    page.get_by_role("navigation").get_by_role("link", name="Funding").click()
    page.get_by_role("button", name="Add SAMHSA grant").click()
    expect(page.get_by_role("status")).to_have_text("Added SAMHSA grant.")
    expect(page.locator("#programs")).to_contain_text("$750.00")
    screenshot(page, "phone-funding-programs")
    assert serious_accessibility_violations(page) == []

    page.goto(f"{live_server}/staff/participants/{enrolled}")
    page.get_by_role("link", name="Funding").last.click()
    page.get_by_label("Program").select_option(label="SAMHSA grant")
    page.get_by_label("Funds from").fill("2026-01-05")
    page.get_by_role("button", name="Fund", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Funding recorded.")
    expect(page.get_by_role("cell", name="SAMHSA grant", exact=True)).to_be_visible()

    page.get_by_label("Last day SAMHSA grant funds").fill("2025-12-31")
    page.get_by_role("button", name="End SAMHSA grant").click()
    expect(page.locator(".error")).to_contain_text(
        "The last day cannot be before the first (2026-01-05)."
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    screenshot(page, "phone-funding-assign")
    assert serious_accessibility_violations(page) == []
