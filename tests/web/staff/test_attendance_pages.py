"""Staff pages speak of what the participant's protocol rewards (issue 13): group
sessions for attendance, negative tests for tests, both for a combined protocol;
and the Today board lists today's booked sessions and groups beside the tests."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Event
from cm_service.services.cm import appointments, checkins, groups
from tests.support.factories import NOW, make_enrolled
from tests.support.pages import page_of
from tests.support.web import csrf_token
from tests.web.attendance import (
    ATTENDANCE,
    THURSDAY,
    TUESDAY,
    attendance_only,
    book_groups,
    combined,
    enrolled,
    section,
    void_first_group,
    words,
)

TODAY = NOW.date()  # Monday 2 February 2026
STANDING = 'aria-label="Standing"'


def standing_on(client, path: str) -> str:
    return words(section(page_of(client.get(path)), STANDING))


def test_the_record_of_someone_rewarded_for_group_speaks_of_group_sessions(
    logged_in, staff, clinic
):
    person = attendance_only(staff, clinic)

    standing = standing_on(logged_in, f"/staff/participants/{person.id}")

    assert "2 group sessions in a row" in standing
    assert "Next group session Tue 3 Feb earns 3 draws" in standing
    assert "Draws waiting 3" in standing
    assert "negative" not in standing.lower()
    assert "$0.00" not in standing


def test_the_check_in_answer_after_a_group_shows_what_it_earned_and_the_next(
    logged_in, staff, clinic
):
    person = enrolled(staff, clinic, ATTENDANCE, "P-0100", None)
    book_groups(staff, person.id)
    checkins.record_attendance(staff, person.id, TUESDAY, "group", now=NOW)
    form = f"/staff/participants/{person.id}/checkin"

    response = logged_in.post(
        f"{form}/attendance",
        data={
            "csrf_token": csrf_token(logged_in, form),
            "a-on": "2026-01-29",
            "a-session_type": "group",
        },
    )

    page = page_of(logged_in.get(response.headers["Location"]))
    assert "+2 draws to make" in words(section(page, 'id="h-earned"'))
    standing = words(section(page, STANDING))
    assert "2 group sessions in a row" in standing
    assert "Next group session Tue 3 Feb earns 3 draws" in standing
    assert "negative" not in standing.lower()


def test_a_combined_protocol_shows_the_next_test_and_the_next_session(
    logged_in, staff, clinic
):
    person = combined(staff, clinic)

    standing = standing_on(logged_in, f"/staff/participants/{person.id}")

    assert "2 negatives in a row" in standing
    assert "2 group sessions in a row" in standing
    assert "Next negative earns 60 points ($15.00)" in standing
    assert "Next group session Tue 3 Feb earns 3 draws" in standing


def test_the_check_in_answer_of_a_combined_protocol_keeps_both_lines(
    logged_in, staff, clinic
):
    person = combined(staff, clinic)
    result = checkins.record_specimen(
        staff, person.id, TODAY, {"cocaine": "negative"}, now=NOW
    )

    page = page_of(logged_in.get(f"/staff/checkins/{result.event.id}"))

    standing = words(section(page, STANDING))
    assert "3 negatives in a row" in standing
    assert "2 group sessions in a row" in standing
    assert "Next group session Tue 3 Feb earns 3 draws" in standing


def test_a_specimen_only_record_says_nothing_of_sessions(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    result = checkins.record_specimen(
        staff, person.id, TODAY, {"cocaine": "negative"}, now=NOW
    )

    for path in (
        f"/staff/participants/{person.id}",
        f"/staff/checkins/{result.event.id}",
    ):
        standing = standing_on(logged_in, path)
        assert "1 negative in a row" in standing
        assert "Next negative earns 15 points ($3.75)" in standing
        assert "10 points · $2.50" in standing
        assert "session" not in standing


def test_the_board_lists_todays_groups_and_booked_sessions(logged_in, staff, clinic):
    make_enrolled(staff, clinic, code="P-0001")  # Higgins: due to test today
    came = enrolled(staff, clinic, ATTENDANCE, "P-0100", None)
    expected = enrolled(staff, clinic, ATTENDANCE, "P-0101", None)
    counselled = enrolled(staff, clinic, ATTENDANCE, "P-0102", None)
    monday = groups.create_group(staff, "Monday group", "group", 0, time(10), now=NOW)
    for member in (came, expected):
        groups.add_member(staff, monday.id, member.id, TODAY, now=NOW)
    appointments.book(staff, counselled.id, "individual", TODAY, time(15, 30), now=NOW)
    checkins.record_attendance(staff, came.id, TODAY, "group", now=NOW)

    page = page_of(logged_in.get("/staff/today"))

    waiting = words(page[page.index('id="waiting"') : page.index('id="checked-in"')])
    checked = words(page[page.index('id="checked-in"') : page.index('id="excused"')])
    assert "P-0001" in waiting
    assert not {"P-0100", "P-0101", "P-0102"} & set(waiting.split())
    assert "P-0100 Prize draws for group attendance" in checked
    assert "attended group session" in checked
    assert 'id="count-checked-in">1<' in page
    meetings = words(section(page, 'id="groups-today"', "</table>"))
    assert "Check in group Monday group 10:00 2 booked · 1 checked in" in meetings
    assert f'href="/staff/groups/{monday.id}/meetings/2026-02-02"' in page
    sessions = words(section(page, 'id="sessions-today"', "</table>"))
    assert "P-0102 15:30 individual" in sessions
    assert "P-0100" not in sessions  # a group member is checked in with the group


def test_the_next_session_says_what_an_offset_withholds(logged_in, staff, clinic):
    person = attendance_only(staff, clinic)
    void_first_group(staff, person)

    standing = standing_on(logged_in, f"/staff/participants/{person.id}")

    assert "1 group session in a row" in standing
    assert (
        "Next group session Tue 3 Feb earns nothing (withheld to offset a correction)"
        in standing
    )


def _excuse(client, person, data: dict):
    form = f"/staff/participants/{person.id}/checkin"
    return client.post(
        f"{form}/excuse", data={"csrf_token": csrf_token(client, form), **data}
    )


def test_a_booked_group_missed_yesterday_is_excused_from_the_checkin_form(
    logged_in, staff, clinic
):
    person = enrolled(staff, clinic, ATTENDANCE, "P-0100", None)
    book_groups(staff, person.id)
    form = f"/staff/participants/{person.id}/checkin"

    # The board's missed list opens the form on that day with the group chosen.
    page = page_of(logged_in.get(f"{form}?on=2026-01-29&session=group"))
    excuse = section(page, 'aria-labelledby="h-excuse"')
    assert '<option selected value="group">Group session</option>' in excuse
    response = _excuse(
        logged_in,
        person,
        {"e-on": "2026-01-29", "e-session_type": "group", "e-reason": "In hospital"},
    )

    assert response.status_code == 302
    events = db.session.scalars(
        select(Event).where(Event.participant_id == person.id)
    ).all()
    assert [(e.kind, e.collected_on, e.session_type, e.reason) for e in events] == [
        ("excused", THURSDAY, "group", "In hospital")
    ]


def test_excusing_a_session_nobody_booked_is_shown_on_its_field(
    logged_in, staff, clinic
):
    person = enrolled(staff, clinic, ATTENDANCE, "P-0100", None)
    book_groups(staff, person.id)

    response = _excuse(
        logged_in,
        person,
        {"e-on": "2026-01-28", "e-session_type": "group", "e-reason": "In hospital"},
    )

    assert response.status_code == 422
    excuse = section(page_of(response), 'aria-labelledby="h-excuse"')
    assert "No group session is booked on Wed 28 Jan 2026" in words(excuse)
    assert 'aria-invalid="true"' in excuse
    assert (
        db.session.scalars(select(Event).where(Event.participant_id == person.id)).all()
        == []
    )
