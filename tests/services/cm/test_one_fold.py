"""Recording a check-in and giving its answer fold the enrollment once (issue 19).

The spy wraps the engine's fold entry points (`rules.evaluate`, and
`rules.fold_awards` which settle used to call) and still calls the real ones: the
answer is the engine's, only the calls are counted.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Event
from cm_service.services.cm import appointments, checkins, corrections
from cm_service.services.cm.evaluation import evaluate_enrollment
from tests.support.factories import START, make_enrolled, scheduled

NEG = {"cocaine": "negative"}
DAYS = scheduled(START, (0, 2, 4), 6)  # Mon/Wed/Fri, as Higgins tests


def afternoon(clinic, day: date) -> datetime:
    return datetime.combine(day, time(14), ZoneInfo(clinic.timezone))


def answer(result: checkins.CheckinResult) -> tuple:
    return (
        result.run,
        result.next_points,
        result.next_draws,
        result.next_cents,
        result.next_sessions,
    )


def fresh(enrollment, on: date) -> tuple:
    evaluation = evaluate_enrollment(enrollment, on)
    nxt = evaluation.next_negative
    return (
        evaluation.run,
        nxt.points + nxt.bonus_points,
        nxt.draws + nxt.bonus_draws,
        nxt.cents,
        evaluation.next_sessions,
    )


def test_a_check_in_and_its_answer_fold_the_enrollment_once(staff, clinic, folds):
    person, enrollment = make_enrolled(staff, clinic)
    for day in DAYS:
        folds.clear()
        result = checkins.record_specimen(
            staff, person.id, day, NEG, now=afternoon(clinic, day)
        )
        assert sum(folds.values()) == 1, (day, dict(folds))
        # The answer settle handed over is what a fresh fold shows.
        assert answer(result) == fresh(enrollment, day)
    assert answer(result)[:2] == (6, 40)  # six negatives in a row; what the next pays


def test_a_back_dated_check_in_folds_once_too(staff, clinic, folds):
    person, enrollment = make_enrolled(staff, clinic)
    for day in DAYS[:4]:
        checkins.record_specimen(staff, person.id, day, NEG, now=afternoon(clinic, day))
    now = afternoon(clinic, DAYS[4])
    folds.clear()

    result = checkins.record_specimen(
        staff, person.id, DAYS[1], {"cocaine": "positive"}, now=now
    )

    assert sum(folds.values()) == 1, dict(folds)
    assert answer(result) == fresh(enrollment, DAYS[4])


def test_a_void_and_its_explanation_fold_the_enrollment_once(staff, clinic, folds):
    person, enrollment = make_enrolled(staff, clinic)
    for day in DAYS[:4]:
        checkins.record_specimen(staff, person.id, day, NEG, now=afternoon(clinic, day))
    first = db.session.scalars(
        select(Event).where(Event.enrollment_id == enrollment.id).order_by(Event.id)
    ).first()
    folds.clear()

    done = corrections.void_event(
        staff, first.id, "Entered for the wrong person", now=afternoon(clinic, DAYS[4])
    )

    assert sum(folds.values()) == 1, dict(folds)
    assert "keeps" in done.explanation or "takes back" in done.explanation


def test_an_attendance_check_in_folds_once_and_says_what_the_next_session_pays(
    staff, clinic, folds
):
    person, enrollment = make_enrolled(staff, clinic, "attendance-prize")
    tuesday = START + timedelta(days=1)  # the preset's group days: Tue, Thu
    for day in (tuesday, tuesday + timedelta(days=2)):
        appointments.book(
            staff,
            person.id,
            "group",
            day,
            time(10),
            weekly=True,
            now=afternoon(clinic, START),
        )
    folds.clear()

    result = checkins.record_attendance(
        staff, person.id, tuesday, "group", now=afternoon(clinic, tuesday)
    )

    assert sum(folds.values()) == 1, dict(folds)
    assert result.next_sessions
    assert answer(result) == fresh(enrollment, tuesday)
