"""Reaching a clinic's portal without a clinic list (issue 15): staff print the
participant's card from their record, the card's link opens that clinic's login, and
/me/login points to the card. Accessible; the card prints alone, black on white."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import participants
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, START, make_staff, protocol_id

pytestmark = pytest.mark.browser

PIN = "246810"


@pytest.fixture
def frozen(clock):
    return clock


def participant_with_pin(name: str = "Browser Clinic"):
    clinic = clinics.create_clinic(SYSTEM, name, "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person = participants.register_participant(
        staff, clinic.id, "P-0001", now=NOW, pin=PIN
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "higgins-1994"), START, now=NOW
    )
    return clinic


def test_staff_print_a_card_whose_link_opens_the_clinics_login(
    page: Page, live_server, live_app, frozen
):
    clinic = participant_with_pin()
    clinics.create_clinic(SYSTEM, "Hidden Clinic", "America/Chicago", now=NOW)
    slug = clinic.portal_slug
    release_database()

    # Staff open the participant's record and its portal card
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation").get_by_role("link", name="Participants").click()
    page.get_by_role("link", name="P-0001").click()
    page.get_by_role("link", name="Portal card").click()

    card = page.locator(".portal-card")
    expect(card).to_contain_text("Browser Clinic")
    expect(card).to_contain_text("P-0001")
    expect(card).to_contain_text("Your PIN: ask staff")
    expect(card.get_by_role("img", name="QR code of the portal link")).to_be_visible()
    expect(page.get_by_role("button", name="Print the card")).to_be_visible()
    screenshot(page, "staff-portal-card")
    assert serious_accessibility_violations(page) == []

    # Printed, only the card is on the page, black on white
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.get_by_role("button", name="Print the card")).to_be_hidden()
    expect(card.get_by_role("img")).to_be_visible()
    assert card.evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
    screenshot(page, "staff-portal-card-print")
    page.emulate_media(media="screen")

    # The card's link is the clinic's own login, for code and PIN only
    link = card.get_by_role("link").get_attribute("href")
    assert link == f"{live_server}/me/{slug}/login"
    page.goto(link)
    expect(page.locator(".clinic-name")).to_have_text("Browser Clinic")
    page.get_by_label("Participant code").fill("P-0001")
    page.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#balance")).to_be_visible()

    # And logging out comes back to it
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(rf"/me/{slug}/login$"))


def test_the_general_login_page_names_no_clinic_on_a_phone(
    page: Page, live_server, live_app
):
    participant_with_pin("Riverside Recovery")
    release_database()
    page.set_viewport_size({"width": 360, "height": 780})

    page.goto(f"{live_server}/me/login")

    expect(page.locator("#login-elsewhere")).to_contain_text(
        "Use the link or QR code on your card, or ask staff."
    )
    expect(page.locator("body")).not_to_contain_text("Riverside")
    assert page.locator("input:not([type=hidden]), select").count() == 0
    screenshot(page, "portal-login-elsewhere")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Español").click()
    expect(page.locator("#login-elsewhere")).to_contain_text(
        "Use el enlace o el código QR de su tarjeta, o pregunte al personal."
    )
    assert serious_accessibility_violations(page) == []
