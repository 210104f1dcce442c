"""The portal home speaks of what the participant's protocol rewards (issue 13), and
lists their upcoming booked sessions, in English and Spanish."""

from __future__ import annotations

from cm_service.services.cm import checkins
from tests.support.factories import NOW
from tests.support.portal import PIN, portal_log_in
from tests.web.attendance import (
    attendance_only,
    combined,
    section,
    void_first_group,
    words,
)
from tests.web.portal.test_portal_language import choose


def home_of(client, clinic, code: str) -> str:
    portal_log_in(client, clinic.id, code=code)
    return client.get("/me/").get_data(as_text=True)


def main_of(page: str) -> str:
    return words(section(page, "<main", "</main>"))


def test_someone_rewarded_for_group_sees_sessions_not_tests(client, staff, clinic):
    attendance_only(staff, clinic, pin=PIN)

    text = main_of(home_of(client, clinic, "P-0100"))

    assert "Your balance 3 prize draws To make your draws, ask staff" in text
    assert "2 group sessions in a row" in text
    assert "Your next group session Tuesday, February 3, 2026 at 10:00 AM" in text
    assert "Attending earns you 3 prize draws." in text
    assert "negative" not in text.lower()
    assert "$0.00" not in text
    assert "0 points" not in text


def test_the_home_lists_the_upcoming_booked_sessions(client, staff, clinic):
    attendance_only(staff, clinic, pin=PIN)

    page = home_of(client, clinic, "P-0100")

    upcoming = words(section(page, '<ul class="history" id="upcoming">', "</ul>"))
    assert upcoming.startswith(
        "Tue, Feb 3 10:00 AM Group session: 3 prize draws "
        "Thu, Feb 5 10:00 AM Group session Tue, Feb 10"
    )
    assert upcoming.count("Group session") == 4


def test_the_upcoming_sessions_read_in_spanish(client, staff, clinic):
    attendance_only(staff, clinic, pin=PIN)
    portal_log_in(client, clinic.id, code="P-0100")
    choose(client, "es")

    page = client.get("/me/").get_data(as_text=True)

    text = main_of(page)
    assert "Sus próximas sesiones" in text
    assert "mar, 3 feb 10:00 Sesión de grupo: 3 sorteos de premio" in text
    assert "2 sesiones de grupo seguidas" in text
    assert "Asistir le da 3 sorteos de premio." in text
    assert "Your " not in page


def test_a_combined_protocol_shows_the_next_test_and_the_next_session(
    client, staff, clinic
):
    combined(staff, clinic, pin=PIN)

    text = main_of(home_of(client, clinic, "P-0200"))

    assert "2 negative tests in a row" in text
    assert "2 group sessions in a row" in text
    assert "A negative test earns you 60 points ($15.00)." in text
    assert "Attending earns you 3 prize draws." in text


def test_a_specimen_only_home_says_nothing_of_sessions(client, staff, clinic, person):
    checkins.record_specimen(
        staff, person.id, NOW.date(), {"cocaine": "negative"}, now=NOW
    )

    page = home_of(client, clinic, "P-0001")

    text = main_of(page)
    assert "1 negative test in a row" in text
    assert "session" not in text.lower()
    assert 'id="upcoming"' not in page


def test_the_next_session_says_an_offset_is_withheld(client, staff, clinic):
    person = attendance_only(staff, clinic, pin=PIN)
    void_first_group(staff, person)

    text = main_of(home_of(client, clinic, "P-0100"))

    assert "1 group session in a row" in text
    assert "Part of this is withheld" in text
    assert "earns nothing extra" not in text
