"""Every portal page in Spanish (issue 16): no English string from the catalogue.

A Spanish-speaking participant with a full history (escalating awards, one cut by
a weekly cap, a correction, a withheld award, group sessions, prize draws, a
manual adjustment and a redemption) opens every GET page of the portal blueprint,
found in the app's URL map so a new page is covered without editing this test; so
do the login pages once logged out, the error pages and the idle logout. The
visible text (tags, scripts and unshown attributes stripped) must contain none of
the English side of the catalogue: each msgid's literal words, leaving out those
the Spanish side uses too ("individual") and short or wordless pieces ("PIN").
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask_babel import refresh
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    InternalServerError,
    NotFound,
    TooManyRequests,
)

from cm_service import errors, rules
from cm_service.extensions import db
from cm_service.i18n_messages import explain_entry, render, staff_rule
from cm_service.models import Event, LedgerEntry, Participant
from cm_service.rules.messages import english, from_json, to_json
from cm_service.services.access import api_tokens, consents
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, corrections, ledger, participants
from cm_service.services.reads import portal as portal_service
from tests.rules.test_messages import folded
from tests.support.consents import EHR, grant
from tests.support.factories import NOW, START, make_staff, protocol_id
from tests.support.portal import PIN, login_path, portal_log_in
from tests.web.attendance import ATTENDANCE, TUESDAY, attend_groups, book_groups

SPANISH_PO = (
    Path(__file__).resolve().parents[3]
    / "cm_service"
    / "translations"
    / "es"
    / "LC_MESSAGES"
    / "messages.po"
)
CAPPED = "higgins-groups-capped"
CODE = "P-0300"
PLACEHOLDER = re.compile(r"%\([^)]*\)[-+ #0]*\d*[sdif]|%%")


# -- the English side of the catalogue ------------------------------------------------


def english_pieces() -> set[str]:
    """The literal words of every msgid that the Spanish side does not share."""
    with SPANISH_PO.open("rb") as f:
        catalogue = read_po(f)
    entries = [m for m in catalogue if m.id]

    def forms(value) -> list[str]:
        return [value] if isinstance(value, str) else list(value)

    spanish = " ".join(s for m in entries for s in forms(m.string)).lower()
    pieces = set()
    for m in entries:
        if set(forms(m.id)) == set(forms(m.string)):
            continue  # the same in both languages
        for msgid in forms(m.id):
            for piece in PLACEHOLDER.split(msgid):
                piece = piece.strip(" .,:;()!?¡¿—-·'\"+=×/")
                if len(piece) < 4 or not re.search(r"[A-Za-z]{3,}", piece):
                    continue  # too short or no word: "PIN", "×", "¢"
                if piece.lower() in spanish:
                    continue  # Spanish too: "individual", "Español"
                pieces.add(piece)
    return pieces


ENGLISH = sorted(english_pieces(), key=len, reverse=True)
FOUND = [
    (piece, re.compile(rf"(?<!\w){re.escape(piece)}(?!\w)", re.IGNORECASE))
    for piece in ENGLISH
]


def visible_text(page: str) -> str:
    """What a reader sees or hears: text, and the attributes read out."""
    page = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    read_out = re.findall(r'\s(?:aria-label|title|alt|placeholder)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(" ".join([text, *read_out])).split())


def english_in(page: str) -> list[str]:
    text = visible_text(page)
    return [piece for piece, pattern in FOUND if pattern.search(text)]


def test_the_catalogue_gives_english_to_look_for():
    assert "Log out" in ENGLISH
    assert "consecutive negative" in ENGLISH
    assert "There is nothing here" in ENGLISH
    assert "PIN" not in ENGLISH


def test_english_is_found_in_text_but_not_in_markup():
    assert english_in("<p>Log out</p>") == ["Log out"]
    assert english_in('<input value="Log out" name="history">') == []
    assert english_in('<nav aria-label="Your history">x</nav>') != []


# -- the participant ------------------------------------------------------------------


def add_capped_protocol(clinic) -> None:
    """Higgins' vouchers with group draws and a $10.00 weekly cap (partial)."""
    groups = rules.load_preset(ATTENDANCE)["phases"][0]["attendance"]
    spec = rules.load_preset("higgins-1994")
    spec = {
        **spec,
        "key": CAPPED,
        "name": "Vouchers with a weekly cap and draws for group",
        "phases": [{**phase, "attendance": groups} for phase in spec["phases"]],
        "caps": {**spec["caps"], "per_week_cents": 1000},
    }
    clinics.add_protocol_version(
        make_staff(clinic, "spanish-admin", "admin"), clinic.id, spec, now=NOW
    )


def event_on(person: Participant, on: date) -> Event:
    return db.session.scalars(
        db.select(Event).where(
            Event.participant_id == person.id, Event.collected_on == on
        )
    ).one()


def share_with_the_county(staff, clinic, person) -> None:
    grant(staff, person, purposes=("treatment", "payment", "operations", "research"))
    grant(staff, person, "Sus médicos", kind="class", purposes=("reminders", "other"),
          purpose_note="Coordinar su cuidado", expires_on=NOW.date())  # fmt: skip
    revoked = grant(staff, person, "Aseguradora", purposes=("payment",))
    consents.revoke_consent(
        staff, revoked.id, revoked_on=NOW.date(), note="Formulario firmado", now=NOW
    )
    token, _ = api_tokens.create_token(
        SYSTEM, clinic.id, "auditor", now=NOW, recipient=EHR, purpose="treatment"
    )
    consents.disclose_record(
        api_tokens.api_actor(token), person.id, ("identity",), route="GET", now=NOW
    )


@pytest.fixture
def hablante(staff, clinic) -> Participant:
    """A Spanish speaker with every kind of history the portal shows."""
    add_capped_protocol(clinic)
    person = participants.register_participant(staff, clinic.id, CODE, now=NOW, pin=PIN)
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, CAPPED), START, now=NOW
    )
    # Mon, Wed, Fri negatives: 10, 15 and 20 points; the third is cut by the cap.
    for n in (0, 2, 4):
        checkins.record_specimen(
            staff,
            person.id,
            START + timedelta(days=n),
            {"cocaine": "negative"},
            now=NOW,
        )
    # A positive resets the run; voided, the next negative is paid more: a correction.
    checkins.record_specimen(
        staff, person.id, START + timedelta(days=7), {"cocaine": "positive"}, now=NOW
    )
    checkins.record_specimen(
        staff, person.id, START + timedelta(days=9), {"cocaine": "negative"}, now=NOW
    )
    positive = event_on(person, START + timedelta(days=7))
    checkins.void_event(staff, positive.id, "Se registró a otra persona", now=NOW)
    # Group sessions and prize draws; voiding the first withholds what it paid.
    book_groups(staff, person.id)
    attend_groups(staff, person.id)
    checkins.void_event(
        staff, event_on(person, TUESDAY).id, "Sesión de otra persona", now=NOW
    )
    ledger.draw_prize(staff, person.id, now=NOW, secret=b"test-draw-secret")
    corrections.adjust_points(staff, person.id, 4, "Error de captura", now=NOW)
    ledger.redeem_points(staff, person.id, 10, now=NOW)
    # Consents to share (one revoked, one to a class) and a disclosure under one.
    share_with_the_county(staff, clinic, person)
    participant = db.session.get(Participant, person.id)
    portal_service.set_language(
        portal_service.participant_actor(participant), "es", now=NOW
    )
    return participant


def test_the_history_has_every_kind_of_entry(hablante):
    rows = db.session.scalars(
        db.select(LedgerEntry).where(LedgerEntry.participant_id == hablante.id)
    ).all()
    rules_text = " | ".join(row.rule for row in rows)

    assert "capped at $10.00 per week" in rules_text
    assert "Correction: was" in rules_text
    assert {"award", "adjustment", "draw", "redemption"} <= {row.kind for row in rows}
    # Each row keeps its reason as a message, whose English is the row's rule.
    assert all(english(from_json(row.why)) == row.rule for row in rows)


def test_rows_from_before_the_messages_fall_back(app):
    old = SimpleNamespace(rule="3rd consecutive negative: 20 points ($5.00)", why=None)
    broken = SimpleNamespace(rule="Draw 1 — Small prize: $1.00", why=["x", 1])
    with app.test_request_context("/me/", headers={"Accept-Language": "es"}):
        # Spanish: nothing (the page says something general), never English.
        assert explain_entry(old) == explain_entry(broken) == ""
        # Staff pages: the English rule as it was written.
        assert staff_rule(old) == old.rule
        assert staff_rule(broken) == broken.rule


@pytest.mark.parametrize("key", rules.preset_keys())
def test_every_explanation_of_a_preset_renders_in_spanish(app, key):
    with app.test_request_context("/me/", headers={"Accept-Language": "es"}):
        for text, why in folded(key):
            spanish = render(why)
            assert english_in(spanish) == [], (text, spanish)
            assert render(why, "en") == text
            assert render(to_json(why), "es") == spanish


# -- every page -----------------------------------------------------------------------


def portal_get_paths(app: Flask, clinic) -> list[str]:
    """Every GET route of the portal blueprint, its arguments filled in."""
    known = {"slug": clinic.portal_slug}
    adapter = app.url_map.bind("localhost")
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("portal.") or "GET" not in rule.methods:
            continue
        unknown = set(rule.arguments) - known.keys()
        assert not unknown, f"{rule.rule}: say what to fill {unknown} with"
        paths.append(
            adapter.build(rule.endpoint, {a: known[a] for a in rule.arguments})
        )
    return sorted(paths)


def assert_spanish(page: str, where: str) -> None:
    assert '<html lang="es">' in page, where
    assert english_in(page) == [], where


def test_every_portal_page_has_no_english(app, client, clinic, hablante):
    paths = portal_get_paths(app, clinic)
    assert {"/me/", "/me/history", "/me/login", login_path(clinic)} <= set(paths)

    assert portal_log_in(client, clinic.id, code=CODE).status_code == 302
    for path in [*paths, "/me/history?page=2"]:
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert_spanish(response.get_data(as_text=True), path)
    # The explanations are there, in Spanish.
    home = client.get("/me/").get_data(as_text=True)
    assert "Cómo se calcula" in home
    assert "Una prueba negativa el " in home
    history = client.get("/me/history").get_data(as_text=True)
    history += client.get("/me/history?page=2").get_data(as_text=True)
    assert "prueba negativa consecutiva" in history
    assert "con el límite de $10.00 por semana: se pagan" in history
    assert "Corrección: antes 10, ahora 25" in history
    assert "sesión de grupo a la que asistió" in history
    shared = client.get("/me/shared").get_data(as_text=True)
    assert "Revocado el" in shared
    assert "un grupo de destinatarios" in shared
    assert "otro propósito: Coordinar su cuidado" in shared
    assert 'id="disclosures"' in shared


def test_every_portal_error_page_has_no_english(client, clinic, hablante):
    portal_log_in(client, clinic.id, code=CODE)
    wrong = clinic.portal_slug[:-1] + ("a" if clinic.portal_slug[-1] != "a" else "b")
    for logged_in in (True, False):
        pages = {
            "404": client.get("/me/no-such-page"),
            "404 link": client.get(f"/me/{wrong}/login"),
            "405": client.get("/me/logout"),
            "400 csrf": client.post("/me/language", data={"language": "es"}),
        }
        for name, response in pages.items():
            page = response.get_data(as_text=True)
            where = f"{name}, logged in: {logged_in}"
            assert response.status_code == int(name[:3]), where
            assert_spanish(page, where)
            assert "/staff/login" not in page, where
            assert ("/me/" in page) if logged_in else (login_path(clinic) in page)
        if logged_in:
            token_page = client.get("/me/").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', token_page)[1]
            client.post("/me/logout", data={"csrf_token": token})


@pytest.mark.parametrize(
    "error",
    [BadRequest(), Forbidden(), NotFound(), TooManyRequests(), InternalServerError()],
)
def test_each_error_status_has_a_spanish_portal_page(app, clinic, error):
    with app.test_request_context(
        "/me/history", headers={"Accept-Language": "es-MX,es;q=0.9"}
    ):
        page, status = errors._http_error(error)

    assert status == error.code
    assert_spanish(page, str(error.code))
    assert "/staff/login" not in page
    assert 'href="/me/login"' in page


def test_the_idle_logout_is_all_spanish(app, clinic, hablante, clock):
    clinic_id = clinic.id
    db.session.remove()  # end the test's SQLite write transaction first
    # A browser that never chose a language: the participant's own one applies.
    with app.app_context():
        fresh = app.test_client()
        assert portal_log_in(fresh, clinic_id, code=CODE).status_code == 302
        clock.now = NOW + timedelta(hours=1)

        response = fresh.get("/me/", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert "Por su privacidad, se cerró su sesión" in page
    assert_spanish(page, "idle logout")


def test_every_string_babel_cfg_extracts_is_in_the_spanish_catalogue():
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    root = SPANISH_PO.parents[4]
    with (root / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "pgettext": ((1, "c"), 2),
        "_l": None,
        "N_": None,
        "NN_": (1, 2),
        "NP_": ((1, "c"), 2),
    }
    extracted = {
        (message if isinstance(message, str) else message[0], context)
        for _, _, message, _, context in extract_from_dir(
            str(root), method_map, options_map, keywords=keywords
        )
    }
    with SPANISH_PO.open("rb") as f:
        catalogue = read_po(f)
    known = {
        (m.id if isinstance(m.id, str) else m.id[0], m.context)
        for m in catalogue
        if m.id
    }

    assert len(extracted) > 200  # the portal templates and the rules
    assert extracted - known == set()


def test_a_message_renders_in_the_language_asked_for(app):
    why = from_json(["m", "%(nth)s consecutive negative", [["nth", ["o", 3]]], None])
    with app.test_request_context("/me/"):  # an English request
        assert render(why) == "3rd consecutive negative"
        assert render(why, "es") == "3.ª prueba negativa consecutiva"
    with app.test_request_context("/me/", headers={"Accept-Language": "es"}):
        refresh()  # the locale is kept per app context, which the test's outlives
        assert render(why) == "3.ª prueba negativa consecutiva"
        assert render(why, "en") == "3rd consecutive negative"
