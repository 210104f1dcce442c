from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from tests.browser.test_staff_security import enrol_admin
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_staff

pytestmark = pytest.mark.browser


def test_an_admin_previews_a_protocols_all_negative_totals(
    page: Page, live_server, live_app
):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "boss", role="admin")
    release_database()
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    enrol_admin(page)  # an admin's first login sets up the second factor

    page.get_by_role("link", name="Protocols").click()
    page.get_by_role("button", name="Validate and add").click()
    expect(page.locator("#spec-error")).to_have_text("Paste the protocol spec as JSON.")
    screenshot(page, "staff-protocols")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Totals of higgins-1994 v1").click()

    expect(page.locator("#max-points")).not_to_have_text("0")
    screenshot(page, "staff-protocol-preview")
    assert serious_accessibility_violations(page) == []
