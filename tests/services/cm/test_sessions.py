"""Attendance by appointment through the services, on SQLite and PostgreSQL: booking,
groups and their check-in, and the nightly job marking booked sessions missed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Appointment, Event, EventVoid, LedgerEntry
from cm_service.services.cm import appointments, checkins, groups, nightly
from cm_service.services.errors import Conflict, InvalidInput
from tests.support.factories import START, make_enrolled

TUESDAY = START + timedelta(days=1)  # the attendance preset's group days: Tue, Thu
TEN = time(10)


def at(clinic, day: date, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo(clinic.timezone))


def draws_of(participant_id: int) -> list[tuple[str, int]]:
    return list(
        db.session.execute(
            select(LedgerEntry.award_key, LedgerEntry.amount)
            .where(
                LedgerEntry.participant_id == participant_id,
                LedgerEntry.award_key.is_not(None),
            )
            .order_by(LedgerEntry.id)
        )
    )


def live_events(enrollment_id: int, kind: str | None = None) -> list[Event]:
    query = (
        select(Event)
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(Event.enrollment_id == enrollment_id, EventVoid.id.is_(None))
        .order_by(Event.collected_on, Event.id)
    )
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.session.scalars(query))


def close(clinic, day: date) -> nightly.RunOutcome:
    return nightly.run_nightly(
        clinic.id, day, now=at(clinic, day + timedelta(days=1), 3)
    )


def count_appointments() -> int:
    return db.session.scalar(select(func.count(Appointment.id)))


def test_a_weekly_booking_books_every_week_to_the_end_of_the_protocol(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")

    booked = appointments.book(
        staff, person.id, "group", TUESDAY, TEN, weekly=True, now=at(clinic, START)
    )

    dates = [a.on for a in booked.appointments]
    assert len(dates) == 16  # 16 weeks of the preset
    assert dates[0] == TUESDAY
    assert dates[-1] == TUESDAY + timedelta(weeks=15)
    with pytest.raises(InvalidInput) as error:
        appointments.book(
            staff, person.id, "group", TUESDAY, TEN, now=at(clinic, START)
        )
    assert error.value.field == "first_on"
    assert "already booked" in error.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"session_type": "yoga"}, "session_type"),
        ({"starts_at": "10am"}, "starts_at"),
        ({"first_on": date(2031, 1, 1)}, "first_on"),
        ({"first_on": START - timedelta(days=1)}, "first_on"),  # before enrolment
        ({"first_on": "2026-01-06"}, "first_on"),
    ],
)
def test_a_bad_booking_names_its_field_and_writes_nothing(staff, clinic, change, field):
    person, _ = make_enrolled(staff, clinic, "attendance-prize")
    args = {"session_type": "group", "first_on": TUESDAY, "starts_at": TEN} | change

    with pytest.raises(InvalidInput) as error:
        appointments.book(
            staff,
            person.id,
            args["session_type"],
            args["first_on"],
            args["starts_at"],
            now=at(clinic, START),
        )

    assert error.value.field == field
    assert count_appointments() == 0


def test_a_missed_booked_group_is_written_by_the_nightly_job_and_resets(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    appointments.book(
        staff, person.id, "group", TUESDAY, TEN, weekly=True, now=at(clinic, START)
    )
    thursday = TUESDAY + timedelta(days=2)
    appointments.book(
        staff, person.id, "group", thursday, TEN, weekly=True, now=at(clinic, START)
    )
    tuesday2 = TUESDAY + timedelta(weeks=1)
    for day in (START, TUESDAY):
        close(clinic, day)
    checkins.record_attendance(
        staff, person.id, TUESDAY, "group", now=at(clinic, TUESDAY)
    )
    close(clinic, TUESDAY + timedelta(days=1))
    outcome = close(clinic, thursday)  # nobody checked them in on Thursday
    for day in range(5):
        close(clinic, thursday + timedelta(days=day + 1))
    checkins.record_attendance(
        staff, person.id, tuesday2, "group", now=at(clinic, tuesday2)
    )

    missed = live_events(enrollment.id, "missed")
    assert [(e.collected_on, e.session_type) for e in missed] == [(thursday, "group")]
    assert outcome.counts.missed_sessions == 1
    assert outcome.counts.missed == 0
    # 1 draw, missed (reset), then back to 1 draw.
    assert draws_of(person.id) == [
        (f"attendance:{TUESDAY}:group", 1),
        (f"attendance:{tuesday2}:group", 1),
    ]


def test_an_attendance_only_enrollment_gets_no_missed_tests(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    for n in range(14):
        close(clinic, START + timedelta(days=n))

    assert live_events(enrollment.id, "missed") == []  # nothing booked, no tests


def test_attendance_recorded_after_the_missed_mark_replaces_it(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    appointments.book(staff, person.id, "group", TUESDAY, TEN, now=at(clinic, START))
    close(clinic, START)
    close(clinic, TUESDAY)
    assert [e.kind for e in live_events(enrollment.id)] == ["missed"]

    checkins.record_attendance(
        staff, person.id, TUESDAY, "group", now=at(clinic, TUESDAY + timedelta(days=1))
    )

    assert [e.kind for e in live_events(enrollment.id)] == ["attendance"]
    reasons = db.session.scalars(select(EventVoid.reason)).all()
    assert reasons == [reasons[0]]
    assert reasons[0].startswith("Replaced by attendance")
    assert draws_of(person.id) == [(f"attendance:{TUESDAY}:group", 1)]


def test_an_excuse_after_the_missed_mark_replaces_it_and_keeps_the_run(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    thursday = TUESDAY + timedelta(days=2)
    for day in (TUESDAY, thursday):
        appointments.book(staff, person.id, "group", day, TEN, now=at(clinic, START))
    checkins.record_attendance(
        staff, person.id, TUESDAY, "group", now=at(clinic, TUESDAY)
    )
    for n in range(4):
        close(clinic, START + timedelta(days=n))
    assert [e.kind for e in live_events(enrollment.id)] == ["attendance", "missed"]

    checkins.excuse_session(
        staff, person.id, thursday, "group", "In hospital", now=at(clinic, thursday)
    )

    assert [e.kind for e in live_events(enrollment.id)] == ["attendance", "excused"]
    reasons = db.session.scalars(select(EventVoid.reason)).all()
    assert len(reasons) == 1
    assert reasons[0].startswith("Replaced by excused")


def test_a_session_not_booked_that_day_cannot_be_excused(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    appointments.book(staff, person.id, "group", TUESDAY, TEN, now=at(clinic, START))

    for day, session_type in ((START, "group"), (TUESDAY, "individual")):
        with pytest.raises(InvalidInput) as error:
            checkins.excuse_session(
                staff, person.id, day, session_type, "Sick", now=at(clinic, TUESDAY)
            )
        assert error.value.field == "session_type"
        assert "booked" in error.value.message
    assert live_events(enrollment.id) == []


def test_a_cancelled_session_is_never_missed(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    made = appointments.book(
        staff, person.id, "group", TUESDAY, TEN, now=at(clinic, START)
    ).appointments[0]

    appointments.cancel(staff, made.id, "Group cancelled: snow", now=at(clinic, START))
    close(clinic, START)
    close(clinic, TUESDAY)

    assert live_events(enrollment.id) == []
    with pytest.raises(Conflict):
        appointments.cancel(staff, made.id, "again", now=at(clinic, START))


def test_a_session_already_checked_in_cannot_be_cancelled(staff, clinic):
    person, _ = make_enrolled(staff, clinic, "attendance-prize")
    made = appointments.book(
        staff, person.id, "group", TUESDAY, TEN, now=at(clinic, START)
    ).appointments[0]
    checkins.record_attendance(
        staff, person.id, TUESDAY, "group", now=at(clinic, TUESDAY)
    )

    with pytest.raises(Conflict) as error:
        appointments.cancel(staff, made.id, "Wrong day", now=at(clinic, TUESDAY))

    assert "void the check-in" in error.value.message


def make_group_of(staff, clinic, size: int):
    group = groups.create_group(
        staff, "Tuesday group", "group", 1, TEN, now=at(clinic, START)
    )
    people = []
    for n in range(size):
        person, _ = make_enrolled(staff, clinic, "attendance-prize", f"G-{n:03d}")
        groups.add_member(staff, group.id, person.id, START, now=at(clinic, START))
        people.append(person)
    return group, people


def test_a_twelve_person_group_is_checked_in_with_one_call(staff, clinic):
    group, people = make_group_of(staff, clinic, 12)
    _, lines = groups.roster(staff, group.id, TUESDAY)
    marks = {line.appointment.id: "attended" for line in lines}
    marks[lines[10].appointment.id] = "late"
    marks[lines[11].appointment.id] = "excused"
    del marks[lines[9].appointment.id]  # did not come

    outcomes = groups.check_in_meeting(
        staff, group.id, TUESDAY, marks, now=at(clinic, TUESDAY)
    )

    assert len(lines) == 12
    assert len(outcomes) == 11
    paid = [o for o in outcomes if o.result and o.result.posted]
    assert len(paid) == 10  # late still counts: this preset sets no on-time window
    assert {o.result.posted[0].amount for o in paid} == {1}
    # What each member's next group earns: 2 draws after attending, 1 otherwise.
    nxt = {o.mark: o.result.next_sessions[0] for o in outcomes}
    assert (nxt["attended"].draws, nxt["attended"].on) == (2, TUESDAY + timedelta(7))
    assert nxt["excused"].draws == 1
    close(clinic, START)
    close(clinic, TUESDAY)
    absent = lines[9].appointment
    assert [e.kind for e in live_events(absent.enrollment_id)] == ["missed"]


def test_a_group_check_in_submitted_twice_records_each_member_once(staff, clinic):
    group, _ = make_group_of(staff, clinic, 2)
    _, lines = groups.roster(staff, group.id, TUESDAY)
    marks = {line.appointment.id: "attended" for line in lines}

    groups.check_in_meeting(staff, group.id, TUESDAY, marks, now=at(clinic, TUESDAY))
    again = groups.check_in_meeting(
        staff, group.id, TUESDAY, marks, now=at(clinic, TUESDAY)
    )

    assert [o.result for o in again] == [None, None]
    assert db.session.scalar(select(func.count(Event.id))) == 2


@pytest.mark.parametrize(
    ("marks", "field"),
    [
        ({"first": "present"}, "mark-first"),
        ({999999: "attended"}, "mark-999999"),
        ({}, "marks"),
    ],
)
def test_a_bad_group_check_in_names_the_member_and_writes_nothing(
    staff, clinic, marks, field
):
    group, _ = make_group_of(staff, clinic, 2)
    _, lines = groups.roster(staff, group.id, TUESDAY)
    first = lines[0].appointment.id
    marks = {first if k == "first" else k: v for k, v in marks.items()}

    with pytest.raises(InvalidInput) as error:
        groups.check_in_meeting(
            staff, group.id, TUESDAY, marks, now=at(clinic, TUESDAY)
        )

    assert error.value.field == field.replace("first", str(first))
    assert db.session.scalar(select(func.count(Event.id))) == 0


def test_a_future_meeting_cannot_be_checked_in(staff, clinic):
    group, _ = make_group_of(staff, clinic, 1)
    _, lines = groups.roster(staff, group.id, TUESDAY)

    with pytest.raises(InvalidInput) as error:
        groups.check_in_meeting(
            staff,
            group.id,
            TUESDAY,
            {lines[0].appointment.id: "attended"},
            now=at(clinic, START),
        )

    assert error.value.field == "on"


def test_leaving_a_group_cancels_the_meetings_ahead(staff, clinic):
    group, (person,) = make_group_of(staff, clinic, 1)

    groups.remove_member(
        staff, group.id, person.id, now=at(clinic, TUESDAY + timedelta(1))
    )

    left = db.session.scalars(
        select(Appointment).where(Appointment.cancelled_at.is_(None))
    ).all()
    assert [a.on for a in left] == [TUESDAY]  # the meeting already held stays


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "group", 1), "name"),
        (("Tuesday group", "yoga", 1), "session_type"),
        (("Tuesday group", "group", 7), "weekday"),
        (("Existing", "group", 1), "name"),
    ],
)
def test_a_bad_group_names_its_field(staff, clinic, args, field):
    groups.create_group(staff, "Existing", "group", 2, TEN, now=at(clinic, START))

    with pytest.raises(InvalidInput) as error:
        groups.create_group(staff, *args, TEN, now=at(clinic, START))

    assert error.value.field == field


def test_an_off_site_meeting_says_how_and_by_whom_it_was_confirmed(staff, clinic):
    person, _ = make_enrolled(staff, clinic, "attendance-prize")
    now = at(clinic, TUESDAY)

    with pytest.raises(InvalidInput) as how:
        checkins.record_attendance(staff, person.id, TUESDAY, "twelve_step", now=now)
    with pytest.raises(InvalidInput) as who:
        checkins.record_attendance(
            staff, person.id, TUESDAY, "twelve_step", now=now, verification="phone_call"
        )
    recorded = checkins.record_attendance(
        staff,
        person.id,
        TUESDAY,
        "twelve_step",
        now=now,
        verification="signed_slip",
        verification_note="Slip signed by the meeting secretary, R. Diaz",
    )

    assert (how.value.field, who.value.field) == ("verification", "verification_note")
    assert recorded.event.verification == "signed_slip"
    assert recorded.event.verification_note.startswith("Slip signed")
