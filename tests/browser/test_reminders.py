"""Reminders in a browser: staff record the opt-in, the participant stops them on a
phone; both pages pass axe-core's serious and critical checks."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cm_service.extensions import db
from cm_service.models import ReminderChannel
from tests.browser.test_portal import PHONE, enrolled_participant, log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)

pytestmark = pytest.mark.browser


def test_staff_opt_a_participant_in_and_the_participant_stops_it_on_a_phone(
    page: Page, live_server, live_app
):
    # Given a participant enrolled, with a PIN
    slug, _, person_id = enrolled_participant(live_app)
    release_database()

    # When staff record text-message reminders on the participant's page
    page.goto(f"{live_server}/staff/login")
    page.get_by_label("Username").fill("tech")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/staff/participants/{person_id}")
    page.get_by_role("link", name="Reminders").click()
    page.get_by_label("Text-message reminders").check()
    page.get_by_label("Mobile number").fill("(555) 123-4567")
    page.get_by_role("button", name="Save reminder choices").click()

    # Then the missing consent date is shown on its field, and once given, saved
    expect(page.locator("#signed_on-error")).to_contain_text("consent for reminders")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Consent for reminders signed on").fill("2026-02-01")
    page.get_by_role("button", name="Save reminder choices").click()
    expect(page.locator(".flash")).to_contain_text("Reminder choices saved")
    expect(page.locator("#channels")).to_contain_text("on, to +15551234567")
    screenshot(page, "staff-reminders")
    assert serious_accessibility_violations(page) == []

    # When the participant opens Reminders in the portal on a phone and stops them
    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    log_in(page, live_server, slug)
    page.get_by_role("link", name="Reminders").click()
    expect(page.locator("#channels")).to_contain_text("•••• 4567")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "portal-reminders")
    page.get_by_role("button", name="Stop all reminders").click()

    # Then they are told so, and the opt-in has ended
    expect(page.locator(".flash")).to_have_text("You will get no more reminders.")
    release_database()
    channel = db.session.query(ReminderChannel).one()
    assert channel.opted_out_by_type == "participant"


def test_a_spanish_reader_manages_e_mail_and_texts_on_a_narrow_phone(
    page: Page, live_server, live_app
):
    from datetime import date

    from cm_service.services.cm import participants
    from cm_service.services.integrations import reminders
    from tests.support.factories import NOW

    slug, staff, person_id = enrolled_participant(live_app)
    participants.set_language(staff, person_id, "es", now=NOW)
    reminders.save(
        staff,
        person_id,
        reminders.Choices(
            sms=True,
            phone="(555) 123-4567",
            email=True,
            email_address="participant.with.a.long.address@example.org",
            signed_on=date(2026, 2, 1),
        ),
        now=NOW,
    )
    release_database()

    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server, slug)
    page.goto(f"{live_server}/me/reminders")

    expect(page.locator("#channels")).to_contain_text("Correos electrónicos")
    screenshot(page, "portal-reminders-es-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert serious_accessibility_violations(page) == []
