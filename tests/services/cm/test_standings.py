"""Pages read the standing settle and the nightly job keep, never a stale one.

Each test compares what a page shows with a fresh fold of the same history: the
standing is a cache, so the only honest check is that it says what the fold says,
and that any write to what the fold reads ends it. The `folds` spy (conftest.py)
counts the engine's folds while still running them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import EnrollmentStanding, Event, Model
from cm_service.services.cm import (
    appointments,
    checkins,
    closures,
    corrections,
    exemptions,
    nightly,
    participants,
    standings,
)
from cm_service.services.cm.evaluation import evaluate_enrollment
from cm_service.services.reads import portal
from tests.support.factories import START, make_enrolled, make_staff, scheduled

NEG = {"cocaine": "negative"}
DAYS = scheduled(START, (0, 2, 4), 6)  # Mon/Wed/Fri, as Higgins tests


def afternoon(clinic, day: date) -> datetime:
    return datetime.combine(day, time(14), ZoneInfo(clinic.timezone))


def fresh(enrollment, on: date) -> rules.Standing:
    """What a fold from the history says today, kept or not."""
    return rules.standing_of(evaluate_enrollment(enrollment, on), on)


def kept(enrollment, on: date) -> rules.Standing | None:
    return standings.read([enrollment.id], on).get(enrollment.id)


def home_of(person, clinic, day: date) -> portal.Home:
    return portal.home(portal.participant_actor(person), now=afternoon(clinic, day))


def checked_in(staff, clinic, days=DAYS[:3]):
    person, enrollment = make_enrolled(staff, clinic)
    for day in days:
        checkins.record_specimen(staff, person.id, day, NEG, now=afternoon(clinic, day))
    return person, enrollment


def test_a_check_in_keeps_the_standing_the_home_page_then_reads(staff, clinic, folds):
    person, enrollment = checked_in(staff, clinic)
    today = DAYS[2]
    assert kept(enrollment, today) == fresh(enrollment, today)
    folds.clear()

    home = home_of(person, clinic, today)

    assert sum(folds.values()) == 0, dict(folds)
    assert home.evaluation == fresh(enrollment, today)
    assert home.evaluation.run == 3
    assert home.next_negative.points == 25  # after 10, 15 and 20 points


def test_the_next_day_the_page_folds_until_the_nightly_job_keeps_one(
    staff, clinic, folds
):
    person, enrollment = checked_in(staff, clinic)
    tomorrow = DAYS[2] + timedelta(days=1)
    assert kept(enrollment, tomorrow) is None
    folds.clear()
    shown = home_of(person, clinic, tomorrow).evaluation
    assert folds["evaluate"] == 1
    assert shown == fresh(enrollment, tomorrow)

    written = nightly.keep_standings(afternoon(clinic, tomorrow))

    assert written == 1
    assert kept(enrollment, tomorrow) == fresh(enrollment, tomorrow)
    folds.clear()
    shown = home_of(person, clinic, tomorrow).evaluation
    assert sum(folds.values()) == 0
    assert shown == fresh(enrollment, tomorrow)
    # Run again (a second scheduler, a rerun after a crash): nothing left to write.
    assert nightly.keep_standings(afternoon(clinic, tomorrow)) == 0


def test_the_nightly_job_keeps_a_standing_only_for_active_enrollments(staff, clinic):
    person, enrollment = checked_in(staff, clinic)
    other, ended = make_enrolled(staff, clinic, code="P-0002")
    participants.end_enrollment(
        staff, other.id, "discharged", DAYS[1], now=afternoon(clinic, DAYS[2])
    )
    today = DAYS[3]

    assert nightly.keep_standings(afternoon(clinic, today)) == 1

    assert kept(enrollment, today) == fresh(enrollment, today)
    assert kept(ended, today) is None


def _back_dated_positive(staff, person, enrollment, clinic, now):
    checkins.record_specimen(
        staff, person.id, DAYS[0], {"cocaine": "positive"}, now=now
    )


def _exemption(staff, person, enrollment, clinic, now):
    exemptions.add_exemption(
        staff, person.id, "cocaine", "a prescription", DAYS[3], now=now
    )


def _pause(staff, person, enrollment, clinic, now):
    closures.pause_participant(staff, person.id, DAYS[3], None, "in hospital", now=now)


def _closure(staff, person, enrollment, clinic, now):
    boss = make_staff(clinic, "boss", "admin")
    closures.add_closure(boss, DAYS[3], "A public holiday", now=now)


def _discharge(staff, person, enrollment, clinic, now):
    participants.end_enrollment(staff, person.id, "discharged", DAYS[2], now=now)


def _booking(staff, person, enrollment, clinic, now):
    appointments.book(staff, person.id, "group", DAYS[3], time(10), now=now)


def _void(staff, person, enrollment, clinic, now):
    first = db.session.scalars(
        select(Event).where(Event.enrollment_id == enrollment.id).order_by(Event.id)
    ).first()
    corrections.void_event(staff, first.id, "Entered for the wrong person", now=now)


def _missed_day_closed(staff, person, enrollment, clinic, now):
    # The test of DAYS[3] (a Monday) is not taken; the nightly job closes it.
    nightly.run_nightly(clinic.id, DAYS[3], now=now + timedelta(days=1))


@pytest.mark.parametrize(
    "change",
    [
        _back_dated_positive,
        _exemption,
        _pause,
        _closure,
        _discharge,
        _booking,
        _void,
        _missed_day_closed,
    ],
)
def test_a_change_to_what_the_fold_reads_never_leaves_a_stale_standing(
    staff, clinic, change
):
    person, enrollment = checked_in(staff, clinic)
    today = DAYS[3]
    nightly.keep_standings(afternoon(clinic, today))
    before = kept(enrollment, today)
    assert before == fresh(enrollment, today)
    now = afternoon(clinic, today)
    if change is _missed_day_closed:
        today = DAYS[3] + timedelta(days=1)
        nightly.keep_standings(afternoon(clinic, today))
        before = kept(enrollment, today)

    change(staff, person, enrollment, clinic, now)

    after = kept(enrollment, today)
    # Either settle kept a new standing, or the change ended the old one.
    assert after is None or after == fresh(enrollment, today)
    assert home_of(person, clinic, today).evaluation == fresh(enrollment, today)


@pytest.mark.parametrize(
    "change", [_back_dated_positive, _discharge, _missed_day_closed, _void]
)
def test_the_changes_above_do_change_what_the_page_shows(staff, clinic, change):
    """Without these the test above could pass on a standing nobody invalidates."""
    person, enrollment = checked_in(staff, clinic)
    today = DAYS[3]
    now = afternoon(clinic, today)
    if change is _missed_day_closed:
        today += timedelta(days=1)
    before = fresh(enrollment, today)

    change(staff, person, enrollment, clinic, now)

    assert fresh(enrollment, today) != before


def test_an_award_in_another_enrollment_ends_the_standing_of_the_participant(
    staff, clinic
):
    """Other enrollments' payments count toward a year cap: a ledger row of the
    participant ends every standing of theirs."""
    person, enrollment = checked_in(staff, clinic)
    today = DAYS[3]
    nightly.keep_standings(afternoon(clinic, today))
    assert kept(enrollment, today) is not None

    corrections.adjust_points(
        staff, person.id, 5, "Goodwill points", now=afternoon(clinic, today)
    )

    assert kept(enrollment, today) is None


def test_a_standing_is_read_only_on_its_day_and_from_its_engine(staff, clinic):
    person, enrollment = checked_in(staff, clinic)
    today = DAYS[2]
    assert kept(enrollment, today) is not None
    assert kept(enrollment, today + timedelta(days=1)) is None

    db.session.execute(
        update(EnrollmentStanding).values(engine="an older engine's code")
    )

    assert kept(enrollment, today) is None


def test_reconciliation_finds_and_replaces_a_standing_a_fold_would_not_give(
    staff, clinic
):
    person, enrollment = checked_in(staff, clinic)
    day = next(
        d
        for d in (DAYS[2] + timedelta(days=n) for n in range(7))
        if enrollment.id in nightly._reconciliation_slice(clinic.id, d)
    )
    now = afternoon(clinic, day + timedelta(days=1))
    today = day + timedelta(days=1)
    nightly.keep_standings(now)
    row = db.session.get(EnrollmentStanding, enrollment.id)
    db.session.execute(
        update(EnrollmentStanding).values(state={**row.state, "run": 99})
    )
    db.session.commit()
    assert kept(enrollment, today).run == 99

    outcome = nightly.run_reconciliation(clinic.id, day, now=now)

    assert outcome.counts.standing_differences == 1
    assert kept(enrollment, today) == fresh(enrollment, today)
    assert kept(enrollment, today).run == 3


def test_every_table_is_read_by_the_fold_or_says_why_not():
    tables = {mapper.class_.__tablename__ for mapper in Model.registry.mappers}
    inputs = {model.__tablename__ for model in standings.INPUTS}

    assert not inputs & set(standings.NOT_INPUTS)
    assert tables == inputs | set(standings.NOT_INPUTS)


def test_reconciling_everything_checks_every_kept_standing(staff, clinic):
    person, enrollment = checked_in(staff, clinic)
    today = DAYS[2]
    db.session.execute(
        update(EnrollmentStanding).values(
            state={
                **db.session.get(EnrollmentStanding, enrollment.id).state,
                "level": 7,
            }
        )
    )
    db.session.commit()

    result = nightly.reconcile_all(afternoon(clinic, today))

    assert result["standings"] == 1
    assert kept(enrollment, today) == fresh(enrollment, today)
