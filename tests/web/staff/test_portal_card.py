"""The printable portal card (issue 15): the clinic's own link as text and as a QR
code, and the participant's code; never the PIN. Opening it is audited as a view of
the record, and another clinic's participant has no card here."""

from __future__ import annotations

import re

import pytest
import segno
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import audit
from cm_service.services.cm import participants
from tests.support.factories import NOW, START, make_enrolled, make_staff, protocol_id
from tests.support.pages import page_of
from tests.support.web import log_in

PIN = "246810"


@pytest.fixture
def person(staff, clinic):
    person = participants.register_participant(
        staff, clinic.id, "P-0001", now=NOW, pin=PIN
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "higgins-1994"), START, now=NOW
    )
    return person


def card_of(client, person):
    return client.get(f"/staff/participants/{person.id}/card")


def last_id() -> int:
    return db.session.scalar(select(func.max(AuditLog.id))) or 0


def test_the_card_shows_the_clinics_link_its_qr_code_and_the_code(
    logged_in, clinic, person
):
    response = card_of(logged_in, person)

    assert response.status_code == 200
    page = page_of(response)
    link = f"http://localhost/me/{clinic.portal_slug}/login"
    assert "Test Clinic" in page
    assert f'<a href="{link}">{link}</a>' in page
    assert '<span id="card-code">P-0001</span>' in page
    assert "Your PIN: ask staff" in page
    assert PIN not in page
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg
    assert 'aria-label="QR code of the portal link"' in svg
    assert "style=" not in svg  # the CSP allows no inline style
    # The SVG draws exactly the modules of the link's QR code.
    drawn = re.search(r' d="([^"]+)"', svg).group(1)
    expected = segno.make(link, error="m", micro=False).svg_inline()
    assert drawn == re.search(r' d="([^"]+)"', expected).group(1)


def test_the_card_prints_on_its_own_page(logged_in, person):
    page = page_of(card_of(logged_in, person))

    assert 'href="/static/card.css"' in page
    css = logged_in.get("/static/card.css")
    text = css.get_data(as_text=True)
    css.close()
    assert "@media print" in text
    assert "A6" in text


def test_opening_the_card_is_audited_as_a_view_of_the_record(
    logged_in, staff, clinic, person
):
    before = last_id()

    card_of(logged_in, person)

    [row] = db.session.scalars(select(AuditLog).where(AuditLog.id > before)).all()
    assert (row.action, row.actor_type, row.actor_id) == (
        "view_participant",
        "staff",
        staff.id,
    )
    assert (row.object_type, row.object_id) == ("participant", person.id)
    assert (row.clinic_id, row.participant_id) == (clinic.id, person.id)
    assert row.detail == {"page": "portal_card"}
    assert audit.verify() is None


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_every_staff_role_can_print_a_card(app, clinic, person, role):
    make_staff(clinic, "other", role)
    client = app.test_client()
    log_in(client, "other")

    assert card_of(client, person).status_code == 200


def test_another_clinics_participant_has_no_card(logged_in, other_clinic):
    elsewhere = make_staff(other_clinic, "elsewhere")
    stranger, _ = make_enrolled(elsewhere, other_clinic, code="P-0900")
    before = last_id()

    response = card_of(logged_in, stranger)

    assert response.status_code == 404
    assert other_clinic.name not in page_of(response)
    assert other_clinic.portal_slug not in page_of(response)
    assert last_id() == before


def test_the_card_needs_a_staff_login(client, person):
    response = card_of(client, person)

    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_the_participant_page_links_to_the_card(logged_in, person):
    page = page_of(logged_in.get(f"/staff/participants/{person.id}"))

    assert f'href="/staff/participants/{person.id}/card"' in page
