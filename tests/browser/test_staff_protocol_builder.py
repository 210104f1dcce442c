from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from tests.browser.test_staff_checkin import TABLET
from tests.browser.test_staff_security import enrol_admin
from tests.support.browser import (
    ARTEFACTS,
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_staff

pytestmark = pytest.mark.browser


def log_in_as_admin(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    enrol_admin(page)  # an admin's first login sets up the second factor


def test_an_admin_builds_a_group_attendance_protocol_at_tablet_width(
    page: Page, live_server, live_app
):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "boss", role="admin")
    release_database()
    page.set_viewport_size(TABLET)
    log_in_as_admin(page, live_server)

    page.get_by_role("navigation").get_by_role("link", name="Protocols").click()
    page.get_by_role("link", name="Build a new version").click()
    page.get_by_label("Key", exact=True).fill("group-draws")
    page.get_by_label("Name", exact=True).fill("Group attendance draws")
    page.locator("#targets").get_by_label("Cocaine").check()
    page.get_by_label("To week").fill("16")
    page.get_by_role("button", name="Add an attendance schedule to phase 1").click()

    # What was typed survives the round trip that added the schedule.
    expect(page.get_by_label("Key", exact=True)).to_have_value("group-draws")
    schedule = page.locator("#phase-0-attendance-0")
    schedule.get_by_label("Schedule").select_option("prize_draws")
    schedule.get_by_label("Start (points or draws)").fill("1")
    schedule.get_by_label("Step (points or draws)").fill("1")
    schedule.get_by_label("Maximum (points or draws)").fill("5")
    schedule.locator("#phases-0-attendance-0-session_types").get_by_label(
        "Group"
    ).check()
    days = schedule.locator("#phases-0-attendance-0-days")
    days.get_by_label("Tue").check()
    days.get_by_label("Thu").check()
    page.locator("#bowl-1-value").fill("1.005")
    page.get_by_role("button", name="Save as a new version").click()

    # Refused: the message is next to the prize value, and nothing was saved.
    expect(page.locator("#bowl-1-value-error")).to_have_text(
        "Use at most two decimals (whole cents), e.g. 12.50."
    )
    expect(page.locator("#problems")).to_contain_text("Nothing was saved")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "staff-protocol-builder-error")
    page.locator("#bowl-1-value").fill("1.00")

    # The preview follows the form as it is edited (the page's script): 32 group
    # sessions, as in the attendance-prize preset, pay 1+2+3+4 then 5 each = 150.
    expect(page.locator("#preview-status")).to_have_text("Preview updated.")
    expect(page.locator("#best-draws")).to_have_text("150")
    page.locator("#phases-0-attendance-0-max").fill("x")
    expect(page.locator("#preview-status")).to_contain_text("Preview waits")
    expect(page.locator("#preview-result")).to_have_count(0)
    page.locator("#phases-0-attendance-0-max").fill("5")

    # ...and Enter in a text box posts the form's default button: Preview, not
    # "Remove tier 1".
    expect(page.locator("#preview-status")).to_have_text("Preview updated.")
    page.get_by_label("Name", exact=True).press("Enter")
    expect(page.locator("#preview-status")).to_have_text("")
    expect(page.locator("#preview-result")).to_be_visible()
    expect(page.locator("#tier-0")).to_be_visible()
    expect(page.locator("#best-draws")).to_have_text("150")
    expect(page.locator("#best-cost")).to_have_text(
        re.compile(r"^\$[1-9][0-9,]*\.\d\d$")
    )
    expect(page.locator("#cohort-mean")).to_have_text(re.compile(r"^\$"))
    expect(page.locator("#phase-0-attendance-0")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "staff-protocol-builder-preview")
    page.locator("#preview-result").screenshot(
        path=str(ARTEFACTS / "staff-protocol-builder-costs.png")
    )
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("status")).to_have_text(
        "Added Group attendance draws version 1."
    )
    expect(page.locator("#max-draws")).to_have_text("150")
