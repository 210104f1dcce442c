"""The front desk at desk and phone sizes: a code typed as people say it and Enter,
Enter again records the visit; a PIN reset at the desk that the participant uses on
their phone, in Spanish."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_staff_checkin import log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_enrolled, make_staff

pytestmark = pytest.mark.browser
SIZES = {
    "desk": {"width": 1280, "height": 800},
    "phone": {"width": 360, "height": 740},
}


@pytest.fixture
def clinic(live_app, clock):
    """Monday 2 Feb 2026: P-0001 to P-0003 due to test, P-0003 with no PIN yet."""
    from cm_service.services.access.actors import SYSTEM
    from cm_service.services.admin import clinics

    made = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(made, "tech")
    ids = [make_enrolled(staff, made, code=f"P-000{n}")[0].id for n in (1, 2, 3)]
    slug = made.portal_slug
    release_database()
    return slug, ids


@pytest.mark.parametrize("size", SIZES)
def test_a_code_typed_loosely_then_enter_twice_records_the_visit(
    page: Page, live_server, clinic, size
):
    # Given staff at the board on a desk computer or a phone
    page.set_viewport_size(SIZES[size])
    log_in(page, live_server)
    code_box = page.get_by_label("Participant code")
    expect(code_box).to_be_focused()

    # When they type "3" (no prefix, no dash) and press Enter
    page.keyboard.type("3")
    page.keyboard.press("Enter")

    # Then P-0003's check-in opens with "Record all negative" ready for Enter
    expect(
        page.get_by_role("heading", name=re.compile("^Check in P-0003"))
    ).to_be_visible()
    expect(page.get_by_role("button", name="Record all negative")).to_be_focused()
    screenshot(page, f"front-desk-enter-checkin-{size}")
    assert serious_accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]

    page.keyboard.press("Enter")
    expect(page.locator("#earned")).to_contain_text("+10 points")
    screenshot(page, f"front-desk-enter-result-{size}")


def test_a_code_matching_several_shows_a_short_list(page: Page, live_server, clinic):
    page.set_viewport_size(SIZES["phone"])
    log_in(page, live_server)

    page.get_by_label("Participant code").fill("p00")
    page.keyboard.press("Enter")

    choices = page.get_by_role("link", name=re.compile(r"^P-000\d"))
    expect(choices).to_have_count(3)
    screenshot(page, "front-desk-several-matches")
    assert serious_accessibility_violations(page) == []
    choices.first.click()
    expect(
        page.get_by_role("heading", name=re.compile("^Check in P-0001"))
    ).to_be_visible()


def test_a_pin_set_at_the_desk_opens_the_portal_on_a_phone_in_spanish(
    page: Page, browser: Browser, live_server, clinic
):
    slug, ids = clinic
    # Given staff at the desk open P-0003's record, who cannot log in yet
    page.set_viewport_size(SIZES["desk"])
    log_in(page, live_server)
    page.goto(f"{live_server}/staff/participants/{ids[2]}")
    expect(page.get_by_text("No PIN yet")).to_be_visible()

    # When they set a PIN and the portal language to Spanish
    page.get_by_label("New PIN (6 to 12 digits)").fill("730519")
    page.get_by_label("The new PIN again").fill("730519")
    page.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_text("This participant has a PIN.")).to_be_visible()
    page.get_by_label("Portal language").select_option("es")
    page.get_by_role("button", name="Save language").click()
    expect(page.get_by_label("Portal language")).to_have_value("es")
    screenshot(page, "front-desk-pin-set")
    assert serious_accessibility_violations(page) == []

    # Then on their own phone (set to English) they log in with it
    phone = browser.new_context(viewport=SIZES["phone"], locale="en-US").new_page()
    try:
        phone.goto(f"{live_server}/me/{slug}/login")
        phone.get_by_label("Participant code").fill("p-0003")
        phone.get_by_label("PIN").fill("730519")
        phone.get_by_role("button", name="Log in").click()

        # And their home page, and the next, are in Spanish as staff chose
        expect(phone.locator("html")).to_have_attribute("lang", "es")
        expect(phone.get_by_role("link", name="Historial")).to_be_visible()
        screenshot(phone, "front-desk-portal-es")
        assert serious_accessibility_violations(phone) == []
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        phone.get_by_role("link", name="Historial").click()
        expect(phone.locator("html")).to_have_attribute("lang", "es")
    finally:
        phone.context.close()
