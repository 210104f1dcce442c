"""Consents in a browser (issue 17): staff record and revoke one on a desk and on a
360 px phone, with errors next to their fields; the participant sees who their
records were shared with on both. No sideways scroll, nothing serious for axe,
screenshots kept under test-results/screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access import api_tokens, consents
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import participants
from tests.browser.test_staff_checkin import log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.consents import EHR, grant
from tests.support.factories import NOW, make_enrolled, make_staff

pytestmark = pytest.mark.browser
DESK = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
SIZES = [("desk", DESK), ("phone", PHONE)]


def fits(page: Page, size: dict) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= size["width"]


@pytest.mark.parametrize(("name", "size"), SIZES, ids=[n for n, _ in SIZES])
def test_staff_record_and_revoke_a_consent(
    page: Page, live_server, live_app, clock, name, size
):
    # Given a participant with no consent on file
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person, _ = make_enrolled(staff, clinic)
    url = f"{live_server}/staff/participants/{person.id}/consents"
    release_database()
    page.set_viewport_size(size)
    log_in(page, live_server)

    # When staff open the consents page from the record and send the form empty
    page.goto(f"{live_server}/staff/participants/{person.id}")
    page.get_by_role("link", name="Consents").click()
    expect(page).to_have_url(url)
    expect(
        page.get_by_text("None: nothing of P-0001's may be disclosed.")
    ).to_be_visible()
    page.get_by_role("button", name="Record consent").click()

    # Then each missing answer is named next to its field
    expect(page.locator("#recipient-error")).to_have_text(
        "Name the recipient, or the class of recipients."
    )
    expect(page.locator("#purposes-error")).to_have_text("Choose at least one purpose.")
    expect(page.locator("#shares-error")).to_have_text("Choose what may be shared.")
    expect(page.get_by_label("Recipient", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    screenshot(page, f"staff-consent-errors-{name}")
    assert serious_accessibility_violations(page) == []
    assert fits(page, size)

    # When they copy the signed form: County EHR, treatment/payment/operations
    page.get_by_label("Recipient", exact=True).fill("Los Angeles County DMH EHR")
    page.get_by_label("Treatment").check()
    page.get_by_label("Payment").check()
    page.get_by_label("Health-care operations").check()
    page.get_by_label("Identity (code and name)").check()
    page.get_by_role("checkbox", name="Test results").check()
    page.get_by_role("button", name="Record consent").click()

    # Then it is listed as active, valid until revoked
    expect(page.get_by_role("status")).to_have_text(
        "Consent to share with Los Angeles County DMH EHR recorded."
    )
    card = page.locator(".consent-list li").first
    expect(card).to_contain_text("Active")
    expect(card).to_contain_text("Never: valid until revoked in writing")
    screenshot(page, f"staff-consent-recorded-{name}")
    assert serious_accessibility_violations(page) == []
    assert fits(page, size)

    # When they revoke it with the written revocation's date and how it came
    card.locator("summary").click()
    card.get_by_label("How it was revoked").fill("Signed revocation form")
    card.get_by_role("button", name="Revoke consent").click()

    # Then it shows as revoked, at once
    expect(page.get_by_role("status")).to_contain_text("Consent revoked")
    expect(page.locator(".consent-list li").first).to_contain_text("Revoked")
    screenshot(page, f"staff-consent-revoked-{name}")
    assert serious_accessibility_violations(page) == []
    assert fits(page, size)


@pytest.mark.parametrize(("name", "size"), SIZES, ids=[n for n, _ in SIZES])
def test_the_participant_sees_who_their_records_were_shared_with(
    page: Page, live_server, live_app, clock, name, size
):
    # Given a consent to the county EHR, one revoked, and a disclosure under one
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    person, _ = make_enrolled(staff, clinic)
    participants.set_pin(staff, person.id, "246810", now=NOW)
    grant(staff, person, purposes=("treatment", "payment", "operations"))
    revoked = grant(staff, person, "State Medicaid (a payer)", purposes=("payment",))
    consents.revoke_consent(
        staff, revoked.id, revoked_on=NOW.date(), note="Signed form", now=NOW
    )
    token, _ = api_tokens.create_token(
        SYSTEM, clinic.id, "auditor", now=NOW, recipient=EHR, purpose="treatment"
    )
    consents.disclose_record(
        api_tokens.api_actor(token),
        person.id,
        ("identity", "test_results"),
        route="GET /api/v1/participants/<code>/observations",
        now=NOW,
    )
    slug = clinic.portal_slug
    release_database()
    page.set_viewport_size(size)

    # When they log in and open "Shared with"
    page.goto(f"{live_server}/me/{slug}/login")
    page.get_by_label("Participant code").fill("p-0001")
    page.get_by_label("PIN").fill("246810")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Shared with").click()

    # Then they see their consents and the disclosure
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Who your records were shared with"
    )
    expect(page.locator(".consents")).to_contain_text("County EHR")
    expect(page.locator(".consents")).to_contain_text("Revoked on")
    expect(page.locator("#disclosures")).to_contain_text("who you are, test results")
    screenshot(page, f"portal-shared-{name}")
    assert serious_accessibility_violations(page) == []
    assert fits(page, size)

    # And in Spanish
    page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Con quién se compartieron sus registros"
    )
    screenshot(page, f"portal-shared-es-{name}")
    assert serious_accessibility_violations(page) == []
    assert fits(page, size)
