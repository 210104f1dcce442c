from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Enrollment, Event, JobRun, LedgerEntry
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, closures, ledger, nightly
from cm_service.services.errors import InvalidInput
from tests.support.factories import START, make_enrolled, make_staff

NEG = {"cocaine": "negative"}


# Noon in Chicago the day after each date: the date has closed there.
def after(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=UTC) + timedelta(days=1)


def kinds_on(participant_id: int) -> list[tuple[date, str]]:
    return [
        (e.collected_on, e.kind)
        for e in db.session.scalars(
            select(Event)
            .where(Event.participant_id == participant_id)
            .order_by(Event.collected_on, Event.id)
        )
    ]


def awards(participant_id: int) -> list[tuple[str, str, int]]:
    return [
        (e.award_key, e.kind, e.amount)
        for e in db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.participant_id == participant_id)
            .order_by(LedgerEntry.award_key, LedgerEntry.id)
        )
    ]


def runs(clinic_id: int) -> list[tuple[date, str]]:
    return [
        (r.run_on, r.status)
        for r in db.session.scalars(
            select(JobRun).where(JobRun.clinic_id == clinic_id).order_by(JobRun.run_on)
        )
    ]


def test_a_scheduled_test_with_no_result_is_missed_and_resets_the_run(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    for day in (START, START + timedelta(days=2)):
        checkins.record_specimen(staff, person.id, day, NEG, now=after(day))

    outcome = nightly.run_nightly(
        clinic.id, date(2026, 1, 9), now=after(date(2026, 1, 9))
    )
    later = checkins.record_specimen(
        staff, person.id, date(2026, 1, 12), NEG, now=after(date(2026, 1, 12))
    )

    assert (outcome.status, outcome.counts.missed) == ("succeeded", 1)
    assert (date(2026, 1, 9), "missed") in kinds_on(person.id)
    assert [e.amount for e in later.posted] == [10]  # back to the start value
    assert runs(clinic.id) == [(date(2026, 1, 9), "succeeded")]


def test_a_day_that_has_not_ended_in_the_clinic_cannot_be_run(clinic):
    # 03:00 UTC on Jan 10 is still Jan 9 in Chicago.
    with pytest.raises(InvalidInput) as error:
        nightly.run_nightly(
            clinic.id, date(2026, 1, 9), now=datetime(2026, 1, 10, 3, tzinfo=UTC)
        )

    assert error.value.field == "date"
    assert runs(clinic.id) == []


def test_running_a_date_twice_posts_nothing_the_second_time(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    day = date(2026, 1, 5)
    nightly.run_nightly(clinic.id, day, now=after(day))
    before = (kinds_on(person.id), awards(person.id))

    second = nightly.run_nightly(clinic.id, day, now=after(day) + timedelta(hours=1))

    assert second.status == "skipped"
    assert (kinds_on(person.id), awards(person.id)) == before


def test_catch_up_after_30_missed_nights_runs_each_date_once_in_order(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(staff, person.id, START, NEG, now=after(START))
    now = datetime(2026, 2, 5, 12, 0, tzinfo=UTC)  # Feb 5, 06:00 in Chicago

    outcomes = nightly.run_due(now)
    again = nightly.run_due(now)

    days = [o.day for o in outcomes]
    assert days == [START + timedelta(days=n) for n in range(31)]  # Jan 5 .. Feb 4
    assert again == []
    missed = [on for on, kind in kinds_on(person.id) if kind == "missed"]
    # Every Mon/Wed/Fri after the one negative, in order, none twice.
    assert missed[0] == date(2026, 1, 7)
    assert len(missed) == len(set(missed)) == 13
    assert ledger.balance_of(person.id).points == 10


def test_a_range_run_twice_gives_an_identical_ledger(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    for offset in (0, 2, 7, 9):
        day = START + timedelta(days=offset)
        checkins.record_specimen(staff, person.id, day, NEG, now=after(day))
    now = after(date(2026, 1, 25))
    nightly.run_due(now)
    first = (kinds_on(person.id), awards(person.id))

    for day, _status in runs(clinic.id):
        nightly.run_nightly(clinic.id, day, now=now)
    nightly.run_due(now)

    assert (kinds_on(person.id), awards(person.id)) == first


def test_a_run_that_fails_halfway_leaves_nothing_and_its_rerun_matches_a_clean_run(
    staff, clinic, other_clinic, monkeypatch
):
    broken, _ = make_enrolled(staff, clinic)
    clean, _ = make_enrolled(make_staff(other_clinic, "other"), other_clinic)
    now = after(date(2026, 1, 16))
    real_settle = nightly.settle_many

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(nightly, "settle_many", crash)
    outcomes = nightly.run_due(now, clinic_id=clinic.id)

    assert {o.status for o in outcomes} == {"failed"}
    assert kinds_on(broken.id) == []  # the missed events were rolled back
    failed = db.session.scalars(select(JobRun).where(JobRun.clinic_id == clinic.id))
    assert all("power cut" in run.error for run in failed)

    monkeypatch.setattr(nightly, "settle_many", real_settle)
    nightly.run_due(now)

    strip = lambda rows: [row[1:] for row in rows]  # noqa: E731 - compare by content
    assert strip(kinds_on(broken.id)) == strip(kinds_on(clean.id))
    assert awards(broken.id) == awards(clean.id)
    assert {s for _, s in runs(clinic.id)} == {"succeeded"}


def test_a_clinic_closure_and_a_pause_excuse_instead_of_missing(staff, clinic):
    admin = make_staff(clinic, "boss", "admin")
    closed, _ = make_enrolled(staff, clinic, code="P-0001")
    paused, _ = make_enrolled(staff, clinic, code="P-0002")
    now = after(START)
    closures.add_closure(admin, START, "New Year holiday", now=now)
    closures.pause_participant(
        staff, paused.id, date(2026, 1, 7), None, "Hospital stay", now=now
    )

    nightly.run_due(after(date(2026, 1, 7)))

    assert kinds_on(closed.id) == [(START, "excused"), (date(2026, 1, 7), "missed")]
    assert kinds_on(paused.id) == [(START, "excused"), (date(2026, 1, 7), "excused")]


def test_safe_mode_holds_missed_tests_until_an_admin_releases_the_day(staff, clinic):
    admin = make_staff(clinic, "boss", "admin")
    person, _ = make_enrolled(staff, clinic)
    closures.set_safe_mode(admin, True, now=after(START))

    held = nightly.run_due(after(START))
    assert [(o.day, o.status) for o in held] == [(START, "held")]
    assert kinds_on(person.id) == []
    assert nightly.run_due(after(START)) == []

    closures.set_safe_mode(admin, False, now=after(START))
    closures.release_held_day(admin, START, now=after(START))
    rerun = nightly.run_due(after(START))

    assert [(o.day, o.status) for o in rerun] == [(START, "succeeded")]
    assert kinds_on(person.id) == [(START, "missed")]


def test_an_enrollment_past_its_protocol_end_is_completed(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    last = START + timedelta(weeks=12, days=-1)

    nightly.run_nightly(clinic.id, last, now=after(last))

    assert db.session.get(Enrollment, enrollment.id).status == "completed"
    assert db.session.get(Enrollment, enrollment.id).ends_on == last


def test_a_local_date_closes_only_after_local_midnight(staff):
    honolulu = clinics.create_clinic(
        SYSTEM, "Hilo", "Pacific/Honolulu", now=after(START)
    )
    new_york = clinics.create_clinic(
        SYSTEM, "NYC", "America/New_York", now=after(START)
    )
    for clinic in (honolulu, new_york):
        make_enrolled(make_staff(clinic, f"tech{clinic.id}"), clinic, start=START)
    # 05:30 UTC on Mar 10: 01:30 on Mar 10 in New York, 19:30 on Mar 9 in Honolulu.
    instant = datetime(2026, 3, 10, 5, 30, tzinfo=UTC)

    assert nightly.due_dates(new_york, instant)[-1] == date(2026, 3, 9)
    assert nightly.due_dates(honolulu, instant)[-1] == date(2026, 3, 8)


@pytest.mark.parametrize(
    ("timezone", "first_day"),
    [
        ("America/Los_Angeles", date(2026, 3, 6)),  # spring forward Mar 8
        ("America/Los_Angeles", date(2026, 10, 30)),  # fall back Nov 1
        ("Europe/Berlin", date(2026, 3, 27)),  # spring forward Mar 29
        ("Europe/Berlin", date(2026, 10, 23)),  # fall back Oct 25
    ],
)
def test_each_local_date_runs_exactly_once_across_dst(app, timezone, first_day):
    clinic = clinics.create_clinic(SYSTEM, "DST", timezone, now=after(first_day))
    make_enrolled(make_staff(clinic), clinic, start=first_day)
    tick = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    ran: list[tuple[date, datetime]] = []
    for _ in range(4 * 24 * 4):  # four days of 15-minute ticks
        for outcome in nightly.run_due(tick, clinic_id=clinic.id):
            ran.append((outcome.day, tick))
        tick += timedelta(minutes=15)

    days = [day for day, _ in ran]
    assert days == sorted(set(days))
    assert days == [first_day + timedelta(days=n) for n in range(len(days))]
    assert len(days) >= 3
    for day, at in ran:  # never before the day has ended where the clinic is
        assert nightly.clinic_today(clinic, at) > day
