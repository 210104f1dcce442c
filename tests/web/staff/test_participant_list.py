"""The participants list (issue 16): codes that never wrap, each participant's next
scheduled test and last result, in a constant number of queries."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event

from cm_service.extensions import db
from cm_service.services.cm import checkins, participants
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.pages import page_of

TODAY = NOW.date()  # Monday 2026-02-02: a Higgins testing day (Mon, Wed, Fri)


def _row(page: str, code: str) -> str:
    start = page.index(f">{code}</a>")
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_each_row_shows_the_next_test_and_the_last_result(logged_in, staff, clinic):
    tested, _ = make_enrolled(staff, clinic, code="P-0001")
    waiting, _ = make_enrolled(staff, clinic, code="P-0002")
    checkins.record_specimen(staff, tested.id, START, {"cocaine": "positive"}, now=NOW)
    checkins.record_specimen(staff, tested.id, TODAY, {"cocaine": "negative"}, now=NOW)
    checkins.record_specimen(
        staff, waiting.id, TODAY - timedelta(days=3), {"cocaine": "positive"}, now=NOW
    )
    participants.register_participant(staff, clinic.id, "P-0003", now=NOW)

    page = page_of(logged_in.get("/staff/participants"))

    assert '<th scope="col">Next test</th>' in page
    assert '<th scope="col">Last result</th>' in page
    # Tested today: the next test is Wednesday's; the last result is today's.
    first = _row(page, "P-0001")
    assert "Wed 4 Feb" in first
    assert "negative" in first
    assert "Mon 2 Feb" in first
    # Not yet tested today: today's test is the next one.
    second = _row(page, "P-0002")
    assert "Today" in second
    assert "cocaine positive" in second
    assert "Fri 30 Jan" in second
    third = _row(page, "P-0003")
    assert "not enrolled" in third


def test_codes_do_not_wrap(logged_in, staff, clinic):
    make_enrolled(staff, clinic, code="P-0001")

    page = page_of(logged_in.get("/staff/participants"))

    assert re.search(r'<th scope="row" class="[^"]*\bcode\b', page)


def test_the_list_reads_in_the_same_number_of_queries_for_more_people(
    logged_in, staff, clinic
):
    make_enrolled(staff, clinic, code="P-0001")
    make_enrolled(staff, clinic, code="P-0002")
    few = _queries(lambda: logged_in.get("/staff/participants"))
    for n in range(3, 9):
        person, _ = make_enrolled(staff, clinic, code=f"P-{n:04d}")
        checkins.record_specimen(
            staff, person.id, TODAY, {"cocaine": "negative"}, now=NOW
        )

    many = _queries(lambda: logged_in.get("/staff/participants"))

    assert many == few


def test_another_clinics_participants_are_not_listed(
    logged_in, staff, clinic, other_clinic
):
    make_enrolled(staff, clinic, code="P-0001")
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-0900")

    page = page_of(logged_in.get("/staff/participants"))

    assert "P-0001" in page
    assert "P-0900" not in page


def _queries(call) -> int:
    call()  # warm: the first page after writes here reloads the logged-in user
    with _counting() as counted:
        assert call().status_code == 200
    return len(counted)


@contextmanager
def _counting():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_discharged_participant_has_no_next_test(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, code="P-0001")
    participants.end_enrollment(
        staff, person.id, "discharged", date(2026, 1, 30), now=NOW
    )

    row = _row(page_of(logged_in.get("/staff/participants")), "P-0001")

    assert "Wed 4 Feb" not in row
    assert "Today" not in row
