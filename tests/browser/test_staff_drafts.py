"""A check-in form submitted after the idle timeout is not lost: after signing in
again the staff member sees it filled in, told it was not saved, and submits it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import User
from cm_service.services.access import drafts
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
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
def desk(live_app, clock):
    # The clock is moved forward instead of waiting 15 minutes.
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person, _ = make_enrolled(staff, clinic, code="P-0001")
    person_id = person.id
    release_database()
    return person_id, clock


def sign_in(page: Page) -> None:
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_a_checkin_submitted_after_the_timeout_comes_back_filled_in(
    page: Page, live_server, desk, size
):
    person_id, clock = desk
    page.set_viewport_size(SIZES[size])
    checkin = f"{live_server}/staff/participants/{person_id}/checkin"
    page.goto(f"{live_server}/staff/login")
    sign_in(page)
    page.goto(checkin)

    # Given a filled specimen form, left open past the idle limit
    page.get_by_label("Cocaine").select_option("negative")
    page.get_by_label("BrAC (optional)").fill("0.000")
    clock.advance(timedelta(minutes=16))

    # When it is submitted, the login page says the work was kept, not saved
    page.get_by_role("button", name="Record specimen").click()
    expect(page.get_by_role("heading", name="Staff log in")).to_be_visible()
    expect(page.locator("#draft-kept")).to_have_text(
        "Your session ended before this was saved. Sign in to see it again."
    )
    expect(page.get_by_text("logged out after 15 minutes")).to_be_visible()
    screenshot(page, f"staff-draft-login-{size}")
    assert serious_accessibility_violations(page) == []

    # Then after signing in the form is back, filled in, with the banner above it
    sign_in(page)
    expect(page).to_have_url(re.compile(rf"/staff/participants/{person_id}/checkin"))
    banner = page.get_by_role("alert").filter(has_text="Not saved yet")
    expect(banner).to_have_text("Not saved yet: check and submit.")
    specimen = page.locator("section", has=page.get_by_role("heading", name="Specimen"))
    expect(specimen.locator("#draft")).to_be_visible()
    expect(page.get_by_label("Cocaine")).to_have_value("negative")
    expect(page.get_by_label("BrAC (optional)")).to_have_value("0.000")
    expect(page.locator("#s-collected_on")).to_be_focused()  # not "all negative"
    screenshot(page, f"staff-draft-filled-{size}")
    assert serious_accessibility_violations(page) == []

    # And submitting it records the visit and shows the award
    page.get_by_role("button", name="Record specimen").click()
    expect(page.locator("#earned")).to_contain_text("+10 points")
    expect(page.locator("#draft")).to_have_count(0)
    screenshot(page, f"staff-draft-saved-{size}")


def test_choices_ticks_and_text_come_back_in_the_attendance_form(
    page: Page, live_server, desk
):
    person_id, clock = desk
    page.set_viewport_size(SIZES["desk"])
    page.goto(f"{live_server}/staff/login")
    sign_in(page)
    page.goto(f"{live_server}/staff/participants/{person_id}/checkin")

    # Given an off-site meeting: a choice, a tick, a radio button and a note
    page.get_by_label("Session type").select_option("twelve_step")
    page.get_by_label("Arrived late").check()
    page.get_by_label("Phone call").check()
    page.get_by_label("Confirmed by").fill("R. Diaz, meeting secretary")
    clock.advance(timedelta(minutes=16))
    page.get_by_role("button", name="Record attendance").click()
    sign_in(page)

    # Then each comes back as entered, and the off-site questions show again
    attendance = page.locator(
        "section", has=page.get_by_role("heading", name="Attendance")
    )
    expect(attendance.locator("#draft")).to_be_visible()
    expect(page.get_by_label("Session type")).to_have_value("twelve_step")
    expect(page.get_by_label("Arrived late")).to_be_checked()
    expect(page.get_by_label("Phone call")).to_be_checked()
    expect(page.get_by_label("Signed slip")).not_to_be_checked()
    expect(page.get_by_label("Confirmed by")).to_have_value(
        "R. Diaz, meeting secretary"
    )
    # The list of kept values is folded away under the filled form
    expect(page.locator("#draft-values dl")).to_be_hidden()
    screenshot(page, "staff-draft-attendance-desk")
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Record attendance").click()
    expect(page.get_by_role("heading", name=re.compile("^Recorded"))).to_be_visible()


def test_a_page_without_the_form_lists_what_was_entered(
    page: Page, live_server, live_app, desk
):
    person_id, clock = desk
    user = db.session.scalars(select(User).where(User.username == "tech")).one()
    kept = drafts.keep(
        user,
        f"/staff/participants/{person_id}/checkin/excuse",
        [("e-on", "2026-02-02"), ("e-reason", "Hospital visit\nback Friday")],
        now=clock(),
    )
    token = kept.token
    release_database()
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"{live_server}/staff/login")
    sign_in(page)

    page.goto(f"{live_server}/staff/today?draft={token}")

    expect(page.get_by_role("alert")).to_have_text("Not saved yet: check and submit.")
    expect(page.locator("#draft-where")).to_contain_text("no longer has that form")
    values = page.locator("#draft-values dl")
    expect(values).to_be_visible()
    expect(values).to_contain_text("Reason")
    expect(values).to_contain_text("Hospital visit")
    screenshot(page, "staff-draft-listed-phone")
    assert serious_accessibility_violations(page) == []
