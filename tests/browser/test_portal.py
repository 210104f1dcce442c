from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, participants
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, START, make_staff, protocol_id

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(page: Page, clock) -> Page:
    # The portal's clock is the suite's NOW: a Monday in week 5 of START.
    page.set_viewport_size(PHONE)
    return page


def enrolled_participant(live_app):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    clinic_id = clinic.id
    person = participants.register_participant(
        staff, clinic_id, "P-0001", now=NOW, pin="246810"
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic_id, "higgins-1994"), START, now=NOW
    )
    return clinic.portal_slug, staff, person.id


def log_in(page: Page, base: str, slug: str, pin: str = "246810") -> None:
    page.goto(f"{base}/me/{slug}/login")
    page.get_by_label("Participant code").fill("p-0001")
    page.get_by_label("PIN").fill(pin)
    page.get_by_role("button", name="Log in").click()


def test_a_participant_sees_balance_and_next_reward_on_a_phone_then_switches_to_spanish(
    phone: Page, live_server, live_app
):
    # Given staff recorded three negatives for P-0001
    slug, staff, person_id = enrolled_participant(live_app)
    for offset in (0, 2, 4):
        checkins.record_specimen(
            staff,
            person_id,
            START + timedelta(days=offset),
            {"cocaine": "negative"},
            now=NOW,
        )
    release_database()

    # When they log in on their phone
    phone.goto(f"{live_server}/me/{slug}/login")
    screenshot(phone, "portal-login")
    assert serious_accessibility_violations(phone) == []
    log_in(phone, live_server, slug)

    # Then they see their balance, their run and what the next negative earns
    expect(phone.locator("#balance")).to_have_text("$21.25")
    expect(phone.locator("#points")).to_have_text("85 points")
    expect(phone.locator("#run")).to_have_text("3 negative tests in a row")
    expect(phone.locator("#next")).to_contain_text(
        "A negative test earns you 25 points ($6.25)."
    )
    screenshot(phone, "portal-home")
    assert serious_accessibility_violations(phone) == []
    # Nothing is wider than the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # And their history and weekly progress read on the same screen
    phone.get_by_role("link", name="History").click()
    expect(phone.locator("#history")).to_contain_text("Bonus: 40 points ($10.00)")
    screenshot(phone, "portal-history")
    assert serious_accessibility_violations(phone) == []
    phone.get_by_role("link", name="Progress").click()
    expect(phone.locator("svg.chart")).to_be_visible()
    box = phone.locator("svg.chart").bounding_box()
    assert box["width"] <= PHONE["width"]
    screenshot(phone, "portal-progress")
    assert serious_accessibility_violations(phone) == []

    # When they switch to Spanish, the page and the choice stay in Spanish
    phone.get_by_role("link", name="Home").click()
    phone.get_by_role("button", name="Español").click()
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    expect(phone.locator("#run")).to_have_text("3 pruebas negativas seguidas")
    expect(phone.locator("#next")).to_contain_text(
        "Una prueba negativa le da 25 puntos ($6.25)."
    )
    screenshot(phone, "portal-home-es")
    assert serious_accessibility_violations(phone) == []

    # And "Cerrar sesión" ends the session, back at the clinic's login
    phone.get_by_role("button", name="Cerrar sesión").click()
    expect(phone.locator(".flash")).to_have_text("Ha cerrado la sesión.")
    expect(phone).to_have_url(re.compile(rf"/me/{slug}/login$"))
    phone.goto(f"{live_server}/me/")
    expect(phone).to_have_url(re.compile(r"/login$"))
    screenshot(phone, "portal-logged-out-es")


def test_a_wrong_pin_gets_one_clear_message_on_a_phone(
    phone: Page, live_server, live_app
):
    slug, _, _ = enrolled_participant(live_app)
    release_database()

    log_in(phone, live_server, slug, pin="999999")

    expect(phone.get_by_role("alert")).to_have_text(
        "That code and PIN do not match. Check them, or ask staff for help."
    )
    screenshot(phone, "portal-login-error")
    assert serious_accessibility_violations(phone) == []


def test_the_portal_reads_at_double_text_size_without_sideways_scrolling(
    phone: Page, live_server, live_app
):
    slug, _, _ = enrolled_participant(live_app)
    release_database()
    log_in(phone, live_server, slug)
    expect(phone.locator("#balance")).to_be_visible()

    # Browser text zoom at 200%, as a low-vision participant might set it
    # (through the CSSOM: the CSP rightly refuses an injected <style>)
    phone.evaluate("document.documentElement.style.fontSize = '200%'")

    expect(phone.locator("#balance")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "portal-home-200pct")
