"""The Today board's other days: yesterday, tomorrow, the week, a chosen date, the
next clinic day when a day has nothing due, and the list of who missed yesterday."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.cm import appointments, checkins, groups
from tests.support.clock import freeze
from tests.support.factories import NOW, make_enrolled
from tests.support.pages import history, page_of
from tests.support.web import log_in

TODAY = NOW.date()  # Monday 2026-02-02: Higgins tests Mon, Wed, Fri
TUESDAY = TODAY + timedelta(days=1)
WEDNESDAY = TODAY + timedelta(days=2)
# Tuesday 3 Feb, 14:00 in Chicago: yesterday was a Higgins testing day.
AT_TUESDAY = NOW + timedelta(days=1)
TEN = time(10)


def between(page: str, start: str, end: str | None = None) -> str:
    part = page[page.index(start) :]
    return part[: part.index(end)] if end else part


def text_of(part: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", part))


def queries_for(client, path: str) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def board_views() -> list[dict]:
    return list(
        db.session.scalars(
            select(AuditLog.detail)
            .where(AuditLog.action == "view_board")
            .order_by(AuditLog.id)
        )
    )


def test_the_day_switch_links_yesterday_today_tomorrow_and_the_week(logged_in, person):
    page = page_of(logged_in.get("/staff/today"))

    switch = between(page, 'id="day-switch"', "</nav>")
    assert 'href="/staff/today?day=2026-02-01"' in switch
    assert 'href="/staff/today"' in switch
    assert 'href="/staff/today?day=2026-02-03"' in switch
    assert 'href="/staff/today?week=1"' in switch
    assert re.search(r'aria-current="page"[^>]*>Today<', switch)


def test_tomorrow_lists_who_is_due_and_audits_that_day(logged_in, staff, clinic):
    make_enrolled(staff, clinic, code="P-0001")
    done, _ = make_enrolled(staff, clinic, code="P-0002")
    checkins.record_specimen(staff, done.id, TODAY, {"cocaine": "negative"}, now=NOW)

    response = logged_in.get("/staff/today?day=2026-02-04")

    page = page_of(response)
    assert response.status_code == 200
    assert "Wednesday 04 February 2026" in page
    due = between(page, 'id="waiting"', 'id="checked-in"')
    assert "Due to test" in due
    assert "P-0001" in due
    assert "P-0002" in due  # Monday's result does not stand for Wednesday
    assert board_views()[-1] == {"on": "2026-02-04", "enrollments": 2}


def test_a_day_ahead_links_records_not_a_checkin_dated_today(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, code="P-0001")

    page = page_of(logged_in.get("/staff/today?day=2026-02-04"))

    due = between(page, 'id="waiting"', 'id="checked-in"')
    assert f'href="/staff/participants/{person.id}"' in due
    assert "/checkin" not in due
    assert "Check-in opens on the day" in text_of(due)


def test_a_past_day_links_the_checkin_dated_that_day(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, code="P-0001")

    page = page_of(logged_in.get("/staff/today?day=2026-01-30"))

    due = between(page, 'id="waiting"', 'id="checked-in"')
    assert f'href="/staff/participants/{person.id}/checkin?on=2026-01-30"' in due


def test_yesterday_shows_what_was_recorded_that_day(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, code="P-0001")
    friday = TODAY - timedelta(days=3)
    checkins.record_specimen(staff, person.id, friday, {"cocaine": "negative"}, now=NOW)

    page = page_of(logged_in.get("/staff/today?day=2026-01-30"))

    assert "Friday 30 January 2026" in page
    recorded = between(page, 'id="checked-in"', 'id="excused"')
    assert "P-0001" in recorded
    assert "negative" in recorded


def test_the_week_lists_each_day_with_its_tests_and_sessions(logged_in, staff, clinic):
    make_enrolled(staff, clinic, code="P-0001")
    done, _ = make_enrolled(staff, clinic, code="P-0002")
    checkins.record_specimen(staff, done.id, TODAY, {"cocaine": "negative"}, now=NOW)
    member, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0003")
    appointments.book(staff, member.id, "individual", TUESDAY, TEN, now=NOW)

    response = logged_in.get("/staff/today?week=1")

    page = page_of(response)
    assert response.status_code == 200
    week = between(page, 'id="week"', "</table>")
    rows = re.findall(r'<tr id="week-([0-9-]{10})"[^>]*>(.*?)</tr>', week, re.S)
    assert [on for on, _ in rows] == [
        (TODAY + timedelta(days=n)).isoformat() for n in range(7)
    ]
    cells = dict(rows)
    assert "2 due" in cells["2026-02-02"]
    assert "1 recorded" in cells["2026-02-02"]
    assert "P-0001" in cells["2026-02-02"]
    assert "2 due" in cells["2026-02-04"]
    assert "1 booked" in cells["2026-02-03"]
    assert 'href="/staff/today?day=2026-02-03"' in cells["2026-02-03"]
    assert "nothing due" in cells["2026-02-07"]
    assert board_views()[-1] == {"week": "2026-02-02", "enrollments": 3}


def test_a_week_holding_a_chosen_day_starts_on_its_monday(logged_in, person):
    page = page_of(logged_in.get("/staff/today?week=1&day=2026-02-12"))

    assert 'id="week-2026-02-09"' in page
    assert 'id="week-2026-02-15"' in page
    assert 'id="week-2026-02-02"' not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("day=2026-02-30", "Enter the date as YYYY-MM-DD."),
        ("day=tomorrow", "Enter the date as YYYY-MM-DD."),
        ("day=2031-01-01", "The date is more than a year from today"),
        ("day=2020-01-01", "Enter a date from 2025-"),
        ("week=yes", "Choose a week with week=1."),
    ],
)
def test_a_bad_day_shows_the_board_of_today_with_a_message(
    logged_in, person, query, message
):
    response = logged_in.get(f"/staff/today?{query}")

    page = page_of(response)
    assert response.status_code == 422
    error = between(page, 'id="day-error"', "</p>")
    assert message in error
    assert 'aria-invalid="true"' in between(page, 'id="day-switch"', "</nav>")
    assert "Monday 02 February 2026" in page
    assert "P-0001" in between(page, 'id="waiting"', 'id="checked-in"')


def test_a_day_with_nothing_due_names_the_next_clinic_day(logged_in, person):
    before = history()

    page = page_of(logged_in.get("/staff/today?day=2026-02-03"))

    note = text_of(between(page, 'id="next-day"', "</p>"))
    assert "Nothing due on Tuesday 03 February" in note
    assert "next: Wed 4 Feb" in note
    assert 'href="/staff/today?day=2026-02-04"' in between(
        page, 'id="next-day"', "</p>"
    )
    assert history()[:2] == before[:2]  # a read: only the audit row is new


def test_a_sunday_board_names_monday(client, staff, person, monkeypatch):
    freeze(monkeypatch, NOW + timedelta(days=6))
    log_in(client, "tech")  # the one clock moved: Monday's login has timed out

    page = page_of(client.get("/staff/today"))

    note = text_of(between(page, 'id="next-day"', "</p>"))
    assert "Nothing due today" in note
    assert "next: Mon 9 Feb" in note


def test_a_booked_session_or_group_meeting_is_a_clinic_day(logged_in, staff, clinic):
    # Attendance only: no tests, so only the booked sessions make a day due.
    member, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0001")
    appointments.book(
        staff, member.id, "individual", TODAY + timedelta(2), TEN, now=NOW
    )
    groups.create_group(staff, "Thursday group", "group", 3, TEN, now=NOW)

    tuesday = page_of(logged_in.get("/staff/today?day=2026-02-03"))
    thursday = page_of(logged_in.get("/staff/today?day=2026-02-05"))

    assert "next: Wed 4 Feb" in text_of(between(tuesday, 'id="next-day"', "</p>"))
    assert 'id="next-day"' not in thursday  # the group meets
    assert "Thursday group" in thursday


def test_a_day_with_something_due_says_nothing_of_the_next(logged_in, person):
    assert 'id="next-day"' not in page_of(logged_in.get("/staff/today"))


@pytest.fixture
def tuesday(monkeypatch):
    # Asked for before `logged_in`, so the login happens on Tuesday too.
    freeze(monkeypatch, lambda: AT_TUESDAY)


def test_missed_yesterday_lists_tests_with_nothing_or_a_missed_mark(
    tuesday, logged_in, staff, clinic
):
    silent, _ = make_enrolled(staff, clinic, code="P-0001")
    came, _ = make_enrolled(staff, clinic, code="P-0002")
    excused, _ = make_enrolled(staff, clinic, code="P-0003")
    marked, _ = make_enrolled(staff, clinic, code="P-0004")
    checkins.record_specimen(staff, came.id, TODAY, {"cocaine": "negative"}, now=NOW)
    checkins.excuse_day(staff, excused.id, TODAY, "Hospital visit", now=NOW)
    checkins.record_missed(staff, marked.id, TODAY, now=AT_TUESDAY)

    page = page_of(logged_in.get("/staff/today"))

    missed = between(page, 'id="h-missed"', "</table>")
    assert "Missed yesterday" in missed
    assert "P-0001" in missed
    assert "nothing recorded" in missed
    assert "P-0004" in missed
    assert "marked missed" in missed
    assert "P-0002" not in missed
    assert "P-0003" not in missed
    late = f"/staff/participants/{silent.id}/checkin?on=2026-02-02"
    assert f'href="{late}"' in missed
    assert f'href="{late}#h-excuse"' in missed


def test_missed_yesterday_lists_booked_sessions_nobody_checked_in(
    tuesday, logged_in, staff, clinic
):
    alone, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0001")
    came, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0002")
    grouped, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0003")
    for person in (alone, came):
        appointments.book(staff, person.id, "individual", TODAY, TEN, now=NOW)
    checkins.record_attendance(staff, came.id, TODAY, "individual", now=NOW)
    group = groups.create_group(staff, "Monday group", "group", 0, TEN, now=NOW)
    at = datetime(2026, 1, 26, 12, tzinfo=UTC)
    groups.add_member(staff, group.id, grouped.id, date(2026, 1, 26), now=at)

    page = page_of(logged_in.get("/staff/today"))

    missed = between(page, 'id="missed"', "</table>")
    assert "P-0001" in missed
    assert "individual session" in missed
    assert "P-0002" not in missed
    assert "P-0003" in missed
    late = (
        f"/staff/participants/{alone.id}/checkin?on=2026-02-02&amp;session=individual"
    )
    assert f'href="{late}"' in missed
    meeting = f"/staff/groups/{group.id}/meetings/2026-02-02"
    assert f'href="{meeting}"' in missed


def test_nobody_missed_yesterday_says_so(logged_in, person):
    missed = between(page_of(logged_in.get("/staff/today")), 'id="missed"', "</table>")

    assert "Nobody missed yesterday." in missed


def test_a_late_checkin_link_opens_the_forms_on_that_day(
    tuesday, logged_in, staff, clinic
):
    person, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0001")

    page = page_of(
        logged_in.get(
            f"/staff/participants/{person.id}/checkin?on=2026-02-02&session=individual"
        )
    )

    assert page.count('value="2026-02-02"') == 4  # every form's date
    assert '<option selected value="individual">' in page
    assert re.search(
        r'<input[^>]*checked[^>]*id="a-late"|id="a-late"[^>]*checked', page
    )


def test_a_late_checkin_link_with_a_bad_day_opens_on_today(
    tuesday, logged_in, staff, clinic
):
    person, _ = make_enrolled(staff, clinic, code="P-0001")

    page = page_of(logged_in.get(f"/staff/participants/{person.id}/checkin?on=2099-1"))

    assert page.count('value="2026-02-03"') == 4


@pytest.mark.parametrize("path", ["/staff/today", "/staff/today?week=1"])
def test_the_missed_list_and_the_week_read_a_clinic_in_the_same_few_queries(
    tuesday, logged_in, staff, clinic, path
):
    def enrol(first: int, last: int) -> None:
        for n in range(first, last):
            person, _ = make_enrolled(staff, clinic, "attendance-prize", f"P-{n:04d}")
            appointments.book(staff, person.id, "individual", TODAY, TEN, now=NOW)
            make_enrolled(staff, clinic, code=f"Q-{n:04d}")

    enrol(1, 3)
    small = queries_for(logged_in, path)
    enrol(3, 9)

    assert queries_for(logged_in, path) == small
    assert "Q-0008" in page_of(logged_in.get(path))
