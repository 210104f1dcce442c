"""The Today board and the week read a clinic of any size in the same statements:
whoever is checked in, excused, pending, booked or missed, nothing is read per
participant (not their person, protocol, events or sessions)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import event

from cm_service.extensions import db
from cm_service.services.cm import appointments, checkins, participants
from tests.support.factories import NOW, START, make_enrolled, protocol_id
from tests.support.pages import page_of

TODAY = NOW.date()  # Monday 2026-02-02: Higgins tests Mon, Wed, Fri
FRIDAY = TODAY - timedelta(days=3)
PETRY = "petry-ctn-2005"  # tests a panel: one target alone must be recollected
PATHS = [
    "/staff/today",
    "/staff/today?day=2026-01-31",  # a Saturday: Friday's tests missed or not
    "/staff/today?day=2026-02-04",  # a day ahead
    "/staff/today?week=1",
]


def _statements_for(client, path: str) -> int:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def _enrol(staff, clinic, first: int, last: int) -> None:
    """Participants `first` to `last - 1`, one of each kind of row in turn."""
    for n in range(first, last):
        code = f"P-{n:04d}"
        kind = n % 5
        if kind == 0:  # nothing recorded: waiting today, missed on Friday
            person = participants.register_participant(
                staff, clinic.id, code, now=NOW, display_name=f"Person {n}"
            )
            higgins = protocol_id(clinic.id, "higgins-1994")
            participants.enroll(staff, person.id, higgins, START, now=NOW)
        elif kind == 1:  # tested today and on Friday
            person, _ = make_enrolled(staff, clinic, code=code)
            checkins.record_specimen(
                staff, person.id, FRIDAY, {"cocaine": "negative"}, now=NOW
            )
            checkins.record_specimen(
                staff, person.id, TODAY, {"cocaine": "negative"}, now=NOW
            )
        elif kind == 2:  # excused today
            person, _ = make_enrolled(staff, clinic, code=code)
            checkins.excuse_day(staff, person.id, TODAY, "At court", now=NOW)
        elif kind == 3:  # a specimen to recollect from Friday
            person, _ = make_enrolled(staff, clinic, key=PETRY, code=code)
            checkins.record_specimen(
                staff, person.id, FRIDAY, {"cocaine": "negative"}, now=NOW
            )
        else:  # a session booked today, attended
            person, _ = make_enrolled(staff, clinic, "attendance-prize", code)
            appointments.book(staff, person.id, "individual", TODAY, time(10), now=NOW)
            checkins.record_attendance(staff, person.id, TODAY, "individual", now=NOW)


@pytest.mark.parametrize("path", PATHS)
def test_the_board_reads_five_or_fifty_participants_in_the_same_statements(
    logged_in, staff, clinic, path
):
    _enrol(staff, clinic, 1, 6)
    few = _statements_for(logged_in, path)
    _enrol(staff, clinic, 6, 51)

    assert _statements_for(logged_in, path) == few
    assert "P-0050" in page_of(logged_in.get(path))


def test_the_fifty_are_on_the_board_where_their_day_puts_them(logged_in, staff, clinic):
    _enrol(staff, clinic, 1, 51)

    page = page_of(logged_in.get("/staff/today"))

    assert 'id="count-waiting">20<' in page  # nothing yet, and the recollections
    assert 'id="count-checked-in">20<' in page  # tested, and came for a session
    assert 'id="count-excused">10<' in page
    assert 'id="count-pending">10<' in page
    assert "Person 5" in page
