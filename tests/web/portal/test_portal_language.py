from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event, Participant
from cm_service.services.cm import checkins
from tests.support.factories import NOW, START
from tests.support.portal import login_path, portal_log_in
from tests.support.web import csrf_token

MESSAGES = Path(__file__).resolve().parents[3] / "cm_service" / "translations"
SPANISH_PO = MESSAGES / "es" / "LC_MESSAGES" / "messages.po"
SPANISH_MO = MESSAGES / "es" / "LC_MESSAGES" / "messages.mo"


def choose(client, language: str, on: str = "/me/"):
    token = csrf_token(client, on)
    return client.post(
        "/me/language", data={"language": language, "next": on, "csrf_token": token}
    )


def test_every_message_has_a_spanish_translation():
    with SPANISH_PO.open("rb") as f:
        catalog = read_po(f)

    missing = [
        m.id
        for m in catalog
        if m.id and (not all(m.string) if m.pluralizable else not m.string)
    ]
    assert missing == []
    assert not [m.id for m in catalog if m.id and m.fuzzy]


def _pairs(catalog) -> dict:
    def key(value):
        return value if isinstance(value, str) else tuple(value)

    return {key(m.id): key(m.string) for m in catalog if m.id}


def test_the_compiled_spanish_catalog_matches_the_po_file():
    with SPANISH_PO.open("rb") as f:
        source = _pairs(read_po(f))
    with SPANISH_MO.open("rb") as f:
        compiled = _pairs(read_mo(f))

    assert compiled == source


def test_a_participant_switches_to_spanish_and_it_is_remembered(
    app, client, staff, clinic, person
):
    checkins.record_specimen(staff, person.id, START, {"cocaine": "negative"}, now=NOW)
    portal_log_in(client, clinic.id)

    response = choose(client, "es")

    assert response.headers["Location"] == "/me/"
    page = client.get("/me/").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Su saldo" in page
    assert "Una prueba negativa le da 15 puntos ($3.75)." in page
    assert db.session.get(Participant, person.id).language == "es"
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "set_language")
    ).one()
    assert (row.actor_type, row.detail) == ("participant", {"from": "en", "to": "es"})

    # A new browser (no session) gets Spanish as soon as the participant logs in.
    # (Its own app context: the test's would share `g`, and the CSRF token in it.)
    clinic_id = clinic.id
    db.session.remove()  # end the test's SQLite write transaction first
    with app.app_context():
        fresh = app.test_client()
        assert portal_log_in(fresh, clinic_id).status_code == 302
        assert "Su saldo" in fresh.get("/me/").get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/me/", "/me/history", "/me/progress", "/me/rewards", "/me/who-looked"]
)
def test_every_portal_page_reads_in_spanish(client, staff, clinic, person, path):
    checkins.record_specimen(staff, person.id, START, {"cocaine": "negative"}, now=NOW)
    portal_log_in(client, clinic.id)
    choose(client, "es")

    page = client.get(path).get_data(as_text=True)

    assert "Cerrar sesión" in page
    assert "Log out" not in page
    assert "Your " not in page
    assert "consecutive" not in page  # the engine's English explanations stay out


def test_the_login_page_follows_the_browser_language(client, clinic):
    page = client.get(
        login_path(clinic), headers={"Accept-Language": "es-MX,es;q=0.9"}
    ).get_data(as_text=True)

    assert "Inicie sesión para ver sus recompensas" in page
    assert "Código de participante" in page


def test_the_general_login_page_points_to_the_card_in_spanish(
    client, clinic, other_clinic
):
    page = client.get(
        "/me/login", headers={"Accept-Language": "es-MX,es;q=0.9"}
    ).get_data(as_text=True)

    assert '<html lang="es">' in page
    assert "Use el enlace o el código QR de su tarjeta, o pregunte al personal." in page
    assert "Test Clinic" not in page
    assert "Other Clinic" not in page


def test_language_chosen_before_login_applies_to_the_login_page(client, clinic):
    choose(client, "es", on=login_path(clinic))

    page = client.get(login_path(clinic)).get_data(as_text=True)

    assert "Código de participante" in page
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "set_language")
        )
        == 0
    )


def test_a_wrong_pin_is_reported_in_spanish(client, person, clinic):
    choose(client, "es", on=login_path(clinic))

    page = portal_log_in(client, clinic.id, pin="999999").get_data(as_text=True)

    assert "El código y el PIN no coinciden." in page


@pytest.mark.parametrize("language", ["fr", "", "ES", "en;"])
def test_an_unknown_language_is_refused_and_nothing_is_written(
    client, person, clinic, language
):
    portal_log_in(client, clinic.id)
    rows = db.session.scalar(select(func.count()).select_from(AuditLog))

    response = choose(client, language)

    assert response.status_code == 422
    assert db.session.get(Participant, person.id).language == "en"
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == rows


def test_the_language_switch_never_redirects_off_site(client, clinic):
    token = csrf_token(client, login_path(clinic))

    response = client.post(
        "/me/language",
        data={"language": "es", "next": "//evil.example/me", "csrf_token": token},
    )

    assert response.headers["Location"] == "/me/"


def test_a_withheld_award_is_explained_in_spanish(client, staff, clinic, person):
    days = [START, START + timedelta(days=2), START + timedelta(days=4)]
    for day in days:
        checkins.record_specimen(
            staff, person.id, day, {"cocaine": "negative"}, now=NOW
        )
    wednesday = db.session.scalars(
        select(Event).where(Event.collected_on == days[1])
    ).one()
    checkins.void_event(staff, wednesday.id, "Muestra de otra persona", now=NOW)
    portal_log_in(client, clinic.id)
    choose(client, "es")

    page = client.get("/me/").get_data(as_text=True)

    assert "Una parte se retiene: compensa lo que se pagó antes" in page
    assert "Los puntos que ganó nunca se le quitan." in page
