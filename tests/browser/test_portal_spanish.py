"""A Spanish speaker on a phone: the explanation of the next award, a missing page
and the idle logout all in Spanish, in the portal's own style (issue 16)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from cm_service.extensions import db
from cm_service.models import Participant
from cm_service.services.cm import checkins
from cm_service.services.reads import portal as portal_service
from tests.browser.test_portal import PHONE, enrolled_participant
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, START

pytestmark = pytest.mark.browser


def log_in_es(page: Page, base: str, slug: str) -> None:
    page.goto(f"{base}/me/{slug}/login")
    page.get_by_label("Participant code").fill("p-0001")
    page.get_by_label("PIN").fill("246810")
    page.get_by_role("button", name="Log in").click()


def test_a_spanish_speaker_reads_why_errors_and_the_timeout_in_spanish(
    page: Page, live_server, live_app, clock
):
    page.set_viewport_size(PHONE)
    slug, staff, person_id = enrolled_participant(live_app)
    for offset in (0, 2, 4):
        checkins.record_specimen(
            staff,
            person_id,
            START + timedelta(days=offset),
            {"cocaine": "negative"},
            now=NOW,
        )
    participant = db.session.get(Participant, person_id)
    portal_service.set_language(
        portal_service.participant_actor(participant), "es", now=NOW
    )
    release_database()

    # A browser in English: the participant's own language applies once logged in
    log_in_es(page, live_server, slug)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_text("Cómo se calcula").first.click()
    expect(page.locator("#next details")).to_contain_text(
        "4.ª prueba negativa consecutiva: 10 + 3×5 = 25 puntos ($6.25)."
    )
    screenshot(page, "portal-why-es")
    assert serious_accessibility_violations(page) == []

    # A page that does not exist: the portal's own page, in Spanish, back home
    page.goto(f"{live_server}/me/no-existe")
    expect(page.locator("h1")).to_have_text("No encontrado")
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    screenshot(page, "portal-404-es")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Volver a sus recompensas").click()
    expect(page).to_have_url(re.compile(r"/me/$"))

    # Idle past the timeout: the login page and its message are in Spanish
    clock.now = NOW + timedelta(hours=1)
    page.reload()
    expect(page).to_have_url(re.compile(rf"/me/{slug}/login$"))
    expect(page.locator(".flash")).to_contain_text("Por su privacidad")
    expect(page.locator("h1")).to_have_text("Inicie sesión para ver sus recompensas")
    screenshot(page, "portal-idle-logout-es")
    assert serious_accessibility_violations(page) == []

    # And a missing page while logged out points to the clinic's login
    page.goto(f"{live_server}/me/no-existe")
    expect(page.locator("h1")).to_have_text("No encontrado")
    link = page.get_by_role("link", name="Ir a la página de inicio de sesión")
    expect(link).to_have_attribute("href", f"/me/{slug}/login")
    screenshot(page, "portal-404-logged-out-es")
    assert serious_accessibility_violations(page) == []
