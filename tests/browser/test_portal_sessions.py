"""The progress and history pages of someone rewarded for coming to group, and of a
combined protocol, on a 360 px phone (issue 13): readable, no sideways scrolling, no
serious accessibility violations, in English and Spanish."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, nightly
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_staff
from tests.web.attendance import NEXT_TUESDAY, attendance_only, combined

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 780}
PIN = "246810"
THURSDAY = datetime(2026, 2, 5, 20, 0, tzinfo=UTC)  # after Thursday's group


@pytest.fixture
def phone(page: Page, clock) -> Page:
    page.set_viewport_size(PHONE)
    return page


def clinic_and_staff(live_app):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    return clinic, make_staff(clinic, "tech")


def log_in(page: Page, base: str, slug: str, code: str) -> None:
    page.goto(f"{base}/me/{slug}/login")
    page.get_by_label("Participant code").fill(code)
    page.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_be_visible()


def looks_right(page: Page, name: str) -> None:
    screenshot(page, name)
    assert serious_accessibility_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_group_attendance_progress_and_history_on_a_phone(
    phone: Page, live_server, live_app, clock
):
    # Given P-0100 came to two groups, the job marked the next one missed and they
    # came to the one after
    clinic, staff = clinic_and_staff(live_app)
    person = attendance_only(staff, clinic, pin=PIN)
    nightly.run_nightly(
        clinic.id, NEXT_TUESDAY, now=datetime(2026, 2, 5, 9, 0, tzinfo=UTC)
    )
    checkins.record_attendance(
        staff, person.id, NEXT_TUESDAY.replace(day=5), "group", now=THURSDAY
    )
    clock.now = THURSDAY
    slug = clinic.portal_slug
    release_database()

    log_in(phone, live_server, slug, "P-0100")
    phone.get_by_role("link", name="Progress", exact=True).click()

    expect(phone.locator("#week-5")).to_have_text("Week 5 1 of 2 1 draw")
    expect(phone.locator("figcaption")).to_contain_text("Marks: one per group session.")
    looks_right(phone, "portal-progress-groups")

    phone.get_by_role("link", name="History").click()
    expect(phone.locator("#history li").nth(1)).to_contain_text("Group session: Missed")
    looks_right(phone, "portal-history-groups")

    phone.get_by_role("button", name="Español").click()
    expect(phone.locator("#history li").nth(1)).to_contain_text(
        "Sesión de grupo: No se presentó"
    )
    looks_right(phone, "portal-history-groups-es")
    phone.get_by_role("link", name="Progreso", exact=True).click()
    expect(phone.locator("#week-5")).to_have_text("Semana 5 1 de 2 1 sorteo")
    looks_right(phone, "portal-progress-groups-es")


def test_combined_progress_and_history_on_a_phone(phone: Page, live_server, live_app):
    clinic, staff = clinic_and_staff(live_app)
    combined(staff, clinic, pin=PIN)
    slug = clinic.portal_slug
    release_database()

    log_in(phone, live_server, slug, "P-0200")
    phone.get_by_role("link", name="Progress", exact=True).click()

    expect(phone.locator("#week-4")).to_have_text(
        "Week 4 Negative tests: 0 of 3 Group sessions attended: 2 of 2 3 draws"
    )
    looks_right(phone, "portal-progress-combined")
    phone.evaluate("document.documentElement.style.fontSize = '200%'")
    looks_right(phone, "portal-progress-combined-200pct")
    phone.evaluate("document.documentElement.style.fontSize = ''")
    phone.get_by_role("link", name="History").click()
    expect(phone.locator("#history")).to_contain_text("Group session: Attended")
    looks_right(phone, "portal-history-combined")
