from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import nightly
from tests.browser.test_staff_security import enrol_admin
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_enrolled, make_staff

pytestmark = pytest.mark.browser


def test_an_admin_sees_the_nightly_runs_and_closes_a_day(
    page: Page, live_server, live_app
):
    # Given a clinic whose first night has run
    clinic = clinics.create_clinic(SYSTEM, "Ops Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "boss", "admin")
    make_enrolled(make_staff(clinic, "tech"), clinic)
    nightly.run_nightly(
        clinic.id, date(2026, 1, 5), now=datetime(2026, 1, 6, 18, tzinfo=UTC)
    )
    release_database()

    # When the admin opens the operations page and adds a closure
    page.set_viewport_size({"width": 1024, "height": 900})
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    enrol_admin(page)  # an admin's first login sets up the second factor
    page.get_by_role("link", name="Operations").click()
    expect(page.locator("#runs")).to_contain_text("succeeded")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Date closed").fill("2026-12-25")
    page.locator("#closure-reason").fill("Christmas Day")
    page.get_by_role("button", name="Add closure").click()

    # Then the closure is listed and confirmed
    expect(page.locator(".flash")).to_contain_text("Closed on 2026-12-25")
    expect(page.get_by_text("2026-12-25: Christmas Day")).to_be_visible()
    screenshot(page, "staff-operations")
    assert serious_accessibility_violations(page) == []
