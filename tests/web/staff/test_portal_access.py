"""Portal access on the staff participant page (issues 15 and 16): staff set or
reset a participant's PIN and portal language. A PIN reset ends every portal
session of that participant; the PIN is never written to the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, Participant
from cm_service.services.cm import participants
from cm_service.services.errors import Forbidden, InvalidInput
from tests.support.factories import NOW, make_enrolled, make_staff
from tests.support.pages import history, page_of
from tests.support.portal import login_path, portal_log_in
from tests.support.web import csrf_token, log_in

NEW_PIN = "583014"


def _page(person) -> str:
    return f"/staff/participants/{person.id}"


def set_pin(client, person, pin: str, again: str | None = None, token=None):
    """Post the PIN form (`token`: one read before, so the post alone is compared)."""
    token = token or csrf_token(client, _page(person))
    data = {"pin": pin, "pin_again": pin if again is None else again}
    return client.post(f"{_page(person)}/pin", data={**data, "csrf_token": token})


def set_language(client, person, language: str, token=None):
    token = token or csrf_token(client, _page(person))
    return client.post(
        f"{_page(person)}/language",
        data={"language": language, "csrf_token": token},
    )


def test_a_pin_set_by_staff_lets_the_participant_log_in(app, logged_in, person):
    assert set_pin(logged_in, person, NEW_PIN).status_code == 302

    portal = app.test_client()
    assert portal_log_in(portal, person.clinic_id, pin=NEW_PIN).status_code == 302
    assert portal.get("/me/").status_code == 200


def test_a_cookie_copied_before_a_pin_reset_opens_nothing_after(
    app, logged_in, person, clinic
):
    participants.set_pin(make_staff(clinic, "second"), person.id, "902157", now=NOW)
    portal = app.test_client()
    portal_log_in(portal, clinic.id, pin="902157")
    name = app.config.get("SESSION_COOKIE_NAME", "session")
    copy = app.test_client()
    copy.set_cookie(name, portal.get_cookie(name).value)
    assert copy.get("/me/").status_code == 200

    assert set_pin(logged_in, person, NEW_PIN).status_code == 302

    for browser in (copy, portal):
        response = browser.get("/me/")
        assert response.status_code == 302
        assert response.headers["Location"] == login_path(clinic)


@pytest.mark.parametrize(
    ("pin", "again", "message"),
    [
        ("123456", None, "too easy to guess"),
        ("111111", None, "too easy to guess"),
        ("4829", None, "6 to 12 digits"),
        (NEW_PIN, "583015", "The two PINs differ"),
    ],
)
def test_a_bad_pin_is_refused_next_to_its_field_and_nothing_is_written(
    logged_in, person, pin, again, message
):
    token = csrf_token(logged_in, _page(person))
    before = history(), db.session.get(Participant, person.id).pin_hash

    response = set_pin(logged_in, person, pin, again, token)

    assert response.status_code == 422
    assert message in page_of(response)
    db.session.expire_all()
    assert (history(), db.session.get(Participant, person.id).pin_hash) == before


def test_the_language_set_by_staff_greets_the_participant_in_spanish(
    app, logged_in, person, clinic
):
    participants.set_pin(make_staff(clinic, "second"), person.id, NEW_PIN, now=NOW)
    assert set_language(logged_in, person, "es").status_code == 302

    portal = app.test_client()
    portal_log_in(portal, clinic.id, pin=NEW_PIN)
    page = page_of(portal.get("/me/"))
    assert '<html lang="es">' in page
    assert "Cerrar sesión" in page


def test_an_unknown_language_is_refused(logged_in, person):
    token = csrf_token(logged_in, _page(person))
    before = history()
    assert set_language(logged_in, person, "fr", token).status_code == 422
    assert history() == before


def test_an_auditor_cannot_set_a_pin_or_language(client, clinic, person):
    make_staff(clinic, "reader", role="auditor")
    assert log_in(client, "reader").status_code == 302
    token = csrf_token(client, _page(person))
    for path, data in (
        ("pin", {"pin": NEW_PIN, "pin_again": NEW_PIN}),
        ("language", {"language": "es"}),
    ):
        response = client.post(
            f"{_page(person)}/{path}", data={**data, "csrf_token": token}
        )
        assert response.status_code == 403
    auditor = make_staff(clinic, "reader2", role="auditor")
    with pytest.raises(Forbidden):
        participants.set_pin(auditor, person.id, NEW_PIN, now=NOW)
    assert db.session.get(Participant, person.id).pin_hash is None


def test_pin_and_language_changes_are_audited_without_the_pin(logged_in, person):
    set_pin(logged_in, person, NEW_PIN)
    set_language(logged_in, person, "es")

    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.action.in_(("set_pin", "set_language")))
    ).all()
    assert [(r.action, r.participant_id) for r in rows] == [
        ("set_pin", person.id),
        ("set_language", person.id),
    ]
    assert NEW_PIN not in repr([r.detail for r in rows])
    assert rows[1].detail == {"from": "en", "to": "es"}


def test_the_service_checks_the_pin_rules(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    with pytest.raises(InvalidInput) as raised:
        participants.set_pin(staff, person.id, "987654", now=NOW)
    assert raised.value.field == "pin"


def test_the_page_offers_portal_access_to_writers(logged_in, person):
    page = page_of(logged_in.get(_page(person)))
    assert "Portal access" in page
    assert 'name="pin_again"' in page
    assert page.count(f'href="/staff/participants/{person.id}/card"') == 1
