"""A participant's booked sessions (book, cancel) and the single attendance
check-in's late and off-site confirmation, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Appointment, AuditLog, Event
from cm_service.services.access import audit
from cm_service.services.cm import appointments
from tests.support.factories import NOW, make_enrolled, make_staff
from tests.support.pages import history, page_of
from tests.support.web import csrf_token, log_in

TODAY = NOW.date()  # Monday 2026-02-02 in Chicago
TEN = time(10)


@pytest.fixture
def member(staff, clinic):
    person, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0001")
    return person


def sessions_of(person) -> str:
    return f"/staff/participants/{person.id}/sessions"


def post(client, path: str, data: dict, page: str = "/staff/groups"):
    # The token from a page that neither audits a view nor takes a flash message.
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def book_weekly(client, person, until: str):
    """Weekly group sessions at 10:00 from Tue 3 Feb to `until`."""
    data = {"session_type": "group", "first_on": "2026-02-03", "starts_at": "10:00"}
    return post(client, sessions_of(person), data | {"weekly": "y", "until": until})


def booked_on(person) -> list[date]:
    return list(
        db.session.scalars(
            select(Appointment.on)
            .where(
                Appointment.participant_id == person.id,
                Appointment.cancelled_at.is_(None),
            )
            .order_by(Appointment.on)
        )
    )


def field_error(page: str, field: str) -> str:
    match = re.search(
        rf'<p class="error" id="{re.escape(field)}-error">([^<]*)</p>', page
    )
    assert match, f"no error shown for {field}"
    return match.group(1)


def test_the_record_links_to_the_sessions_page(logged_in, member):
    page = page_of(logged_in.get(f"/staff/participants/{member.id}"))

    assert f'href="{sessions_of(member)}"' in page


def test_opening_the_sessions_page_writes_one_view_row(
    logged_in, staff, clinic, member
):
    before = db.session.scalar(select(func.max(AuditLog.id)))

    response = logged_in.get(sessions_of(member))

    assert response.status_code == 200
    [row] = db.session.scalars(select(AuditLog).where(AuditLog.id > before)).all()
    assert (row.action, row.actor_id) == ("view_participant", staff.id)
    assert (row.clinic_id, row.participant_id) == (clinic.id, member.id)
    assert audit.verify() is None


def test_a_weekly_booking_lists_its_sessions_and_what_the_next_one_earns(
    logged_in, member
):
    response = book_weekly(logged_in, member, until="2026-02-24")

    assert response.status_code == 302
    page = page_of(logged_in.get(response.headers["Location"]))
    assert "Booked 4 group sessions: Tue 03 Feb 2026 to Tue 24 Feb 2026." in page
    upcoming = page[page.index('id="upcoming"') :]
    assert upcoming.count("<tr>") == 1 + 4
    assert "Tue 03 Feb 2026" in upcoming
    assert "10:00" in upcoming
    assert "Next group session Tue 3 Feb earns 1 draw" in page
    assert booked_on(member) == [date(2026, 2, d) for d in (3, 10, 17, 24)]


def test_dates_already_booked_are_named_and_left_alone(logged_in, staff, member):
    appointments.book(staff, member.id, "group", date(2026, 2, 10), TEN, now=NOW)

    response = book_weekly(logged_in, member, until="2026-02-17")

    page = page_of(logged_in.get(response.headers["Location"]))
    assert "Booked 2 group sessions" in page
    assert "Already booked, left as they were: Tue 10 Feb 2026." in page
    assert booked_on(member) == [date(2026, 2, d) for d in (3, 10, 17)]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"session_type": ""}, "session_type", "Choose the type of session."),
        ({"first_on": "next week"}, "first_on", "Enter the date as YYYY-MM-DD."),
        ({"first_on": "2025-12-01"}, "first_on", "Enter a date from 2026-01-02."),
        (
            {"first_on": "2026-06-02"},
            "first_on",
            "P-0001 is not enrolled on Tue 02 Jun 2026.",
        ),
        ({"starts_at": ""}, "starts_at", "Enter the start time as HH:MM."),
        ({"starts_at": "noon"}, "starts_at", "Enter the start time as HH:MM."),
        (
            {"weekly": "y", "until": "2026-02-01"},
            "until",
            "Enter a date from 2026-02-03.",
        ),
    ],
)
def test_a_bad_booking_is_shown_next_to_its_field_and_writes_nothing(
    logged_in, member, change, field, message
):
    before = history(), booked_on(member)
    good = {"session_type": "group", "first_on": "2026-02-03", "starts_at": "10:00"}

    response = post(logged_in, sessions_of(member), good | change)

    assert response.status_code == 422
    assert field_error(page_of(response), field) == message
    assert (history(), booked_on(member)) == before


def test_a_booked_session_is_cancelled_with_a_reason(logged_in, staff, member):
    made = appointments.book(
        staff, member.id, "group", date(2026, 2, 3), TEN, now=NOW
    ).appointments[0]
    path = f"{sessions_of(member)}/{made.id}/cancel"

    refused = post(logged_in, path, {f"cancel-{made.id}-reason": ""})
    done = post(logged_in, path, {f"cancel-{made.id}-reason": "Snow day"})
    shown = page_of(logged_in.get(done.headers["Location"]))
    again = post(logged_in, path, {f"cancel-{made.id}-reason": "Snow day"})

    assert refused.status_code == 422
    assert field_error(page_of(refused), f"cancel-{made.id}-reason") == (
        "Say why the session is cancelled."
    )
    assert "Cancelled the group session on Tue 03 Feb 2026." in shown
    assert "Nothing booked ahead." in shown
    assert booked_on(member) == []
    assert again.status_code == 409
    assert "This session was already cancelled." in page_of(again)


def test_a_session_is_cancelled_only_from_its_own_participants_page(
    logged_in, staff, clinic, member
):
    other, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0002")
    made = appointments.book(
        staff, other.id, "group", date(2026, 2, 3), TEN, now=NOW
    ).appointments[0]

    response = post(
        logged_in,
        f"{sessions_of(member)}/{made.id}/cancel",
        {f"cancel-{made.id}-reason": "Wrong person"},
        sessions_of(member),
    )

    assert response.status_code == 404
    assert booked_on(other) == [date(2026, 2, 3)]


def test_another_clinics_participant_has_no_sessions_page(logged_in, other_clinic):
    outsider, _ = make_enrolled(
        make_staff(other_clinic, "elsewhere"), other_clinic, "attendance-prize"
    )
    token = csrf_token(logged_in, "/staff/groups")

    assert logged_in.get(sessions_of(outsider)).status_code == 404
    booking = logged_in.post(
        sessions_of(outsider),
        data={"csrf_token": token, "session_type": "group", "first_on": "2026-02-03"},
    )
    assert booking.status_code == 404
    assert booked_on(outsider) == []


def test_an_auditor_reads_the_sessions_page_and_books_nothing(
    client, staff, clinic, member
):
    made = appointments.book(
        staff, member.id, "group", date(2026, 2, 3), TEN, now=NOW
    ).appointments[0]
    make_staff(clinic, "auditor", role="auditor")
    assert log_in(client, "auditor").status_code == 302
    token = csrf_token(client, "/staff/groups")

    page = client.get(sessions_of(member))
    book = client.post(
        sessions_of(member),
        data={"csrf_token": token, "session_type": "group", "first_on": "2026-02-10"},
    )
    cancel = client.post(
        f"{sessions_of(member)}/{made.id}/cancel",
        data={"csrf_token": token, f"cancel-{made.id}-reason": "Snow day"},
    )

    assert page.status_code == 200
    assert "Tue 03 Feb 2026" in page_of(page)
    assert "Book a session" not in page_of(page)
    assert (book.status_code, cancel.status_code) == (403, 403)
    assert booked_on(member) == [date(2026, 2, 3)]


# The single attendance check-in: late, and how an off-site meeting was confirmed.


def attend(client, person, data: dict):
    page = f"/staff/participants/{person.id}/checkin"
    return post(
        client,
        f"{page}/attendance",
        {"a-on": "2026-02-02", "a-session_type": "group"} | data,
    )


def test_a_late_arrival_is_recorded_as_late(logged_in, person):
    response = attend(logged_in, person, {"a-late": "y"})

    assert response.status_code == 302
    assert db.session.scalars(select(Event.late)).one() is True


def test_the_check_in_form_asks_how_an_off_site_meeting_was_confirmed(
    logged_in, person
):
    page = page_of(logged_in.get(f"/staff/participants/{person.id}/checkin"))

    assert 'name="a-late"' in page
    assert 'data-types="twelve_step"' in page
    for value in ("signed_slip", "phone_call", "note"):
        assert f'name="a-verification" type="radio" value="{value}"' in page
    assert 'name="a-verification_note"' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {},
            "a-verification",
            "Say how this off-site meeting was confirmed: signed slip, phone call or "
            "note.",
        ),
        (
            {"a-verification": "phone_call"},
            "a-verification_note",
            "Say who confirmed it (e.g. the meeting chair who signed the slip).",
        ),
        (
            {"a-verification": "telepathy", "a-verification_note": "R. Diaz"},
            "a-verification",
            "Choose signed slip, phone call or note.",
        ),
    ],
)
def test_an_unconfirmed_off_site_meeting_is_refused_next_to_its_field(
    logged_in, person, data, field, message
):
    before = history()

    response = attend(logged_in, person, {"a-session_type": "twelve_step"} | data)

    assert response.status_code == 422
    assert field_error(page_of(response), field) == message
    assert history() == before


def test_a_confirmed_off_site_meeting_is_recorded_with_who_confirmed_it(
    logged_in, person
):
    response = attend(
        logged_in,
        person,
        {
            "a-session_type": "twelve_step",
            "a-verification": "signed_slip",
            "a-verification_note": "R. Diaz, meeting secretary",
        },
    )

    assert response.status_code == 302
    event = db.session.scalars(select(Event)).one()
    assert (event.session_type, event.verification, event.verification_note) == (
        "twelve_step",
        "signed_slip",
        "R. Diaz, meeting secretary",
    )
