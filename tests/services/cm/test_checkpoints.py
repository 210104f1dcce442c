"""Settling resumes from the fold checkpoint only while nothing before it changed."""

from __future__ import annotations

from datetime import date, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import Enrollment, Event, FoldCheckpoint, LedgerEntry
from cm_service.services.cm import checkins, checkpoints, ledger
from cm_service.services.cm.evaluation import evaluate_enrollment, evaluate_history
from cm_service.services.cm.timeline import Timeline, load_timelines
from tests.support.factories import START, make_enrolled, scheduled

NEG = {"cocaine": "negative"}
POS = {"cocaine": "positive"}
DAYS = scheduled(START, (0, 2, 4), 8)  # Mon/Wed/Fri, as Higgins tests


def afternoon(clinic, day: date) -> datetime:
    return datetime.combine(day, time(14), ZoneInfo(clinic.timezone))


def paid(enrollment_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(LedgerEntry.award_key, LedgerEntry.amount).where(
            LedgerEntry.enrollment_id == enrollment_id,
            LedgerEntry.award_key.is_not(None),
        )
    )
    totals: dict[str, int] = {}
    for key, amount in rows:
        totals[key] = totals.get(key, 0) + amount
    return totals


def trusted(enrollment: Enrollment, now: datetime) -> bool:
    """Whether the next settle would resume from the stored checkpoint."""
    timelines = load_timelines([enrollment], with_events=False)
    today = afternoon(enrollment.clinic, now.date()).date()
    plan = checkpoints.plan(timelines, today)[enrollment.id]
    return plan.checkpoint is not None


def full_fold_posts_nothing(enrollment: Enrollment, now: datetime) -> bool:
    posted = ledger.settle_many([enrollment], now=now, resume=False)
    db.session.rollback()
    return posted == []


def test_daily_check_ins_resume_from_yesterday_and_pay_what_a_full_fold_pays(
    staff, clinic
):
    person, enrollment = make_enrolled(staff, clinic)
    for day in DAYS:
        now = afternoon(clinic, day)
        if day != DAYS[0]:
            assert trusted(enrollment, now), f"no usable checkpoint before {day}"
        checkins.record_specimen(staff, person.id, day, NEG, now=now)

    stored = db.session.get(FoldCheckpoint, enrollment.id)
    assert stored.through_on == date(2026, 1, 20)  # the day before the last test
    last = afternoon(clinic, DAYS[-1])
    expected = {a.key: a.amount for a in evaluate_history(enrollment, DAYS[-1]).awards}
    assert paid(enrollment.id) == expected
    assert full_fold_posts_nothing(enrollment, last)


def _three_negatives_then(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    for day in DAYS[:4]:
        checkins.record_specimen(staff, person.id, day, NEG, now=afternoon(clinic, day))
    now = afternoon(clinic, DAYS[4])
    assert trusted(enrollment, now)
    return person, enrollment, now


def test_a_back_dated_positive_makes_settle_fold_again_and_resets_the_run(
    staff, clinic
):
    person, enrollment, now = _three_negatives_then(staff, clinic)

    checkins.record_specimen(staff, person.id, DAYS[1], POS, now=now)
    checkins.record_specimen(staff, person.id, DAYS[4], NEG, now=now)

    key = f"specimen:{DAYS[4].isoformat()}"
    full = {a.key: a.amount for a in evaluate_history(enrollment, DAYS[4]).awards}
    # After the reset on day 2 the fifth test is only the 3rd in a row (20 + the
    # bonus), and the 110 points paid before the correction already cover the
    # 95 the corrected history earns: nothing taken back, the award withheld.
    assert full[key] == 20
    assert sum(full.values()) == 95
    assert key not in paid(enrollment.id)
    assert sum(paid(enrollment.id).values()) == 110
    assert full_fold_posts_nothing(enrollment, now)


def test_voiding_an_early_result_makes_settle_fold_again(staff, clinic):
    person, enrollment, now = _three_negatives_then(staff, clinic)
    first = db.session.scalars(
        select(Event).where(Event.enrollment_id == enrollment.id).order_by(Event.id)
    ).first()

    checkins.void_event(staff, first.id, "Entered for the wrong person", now=now)
    checkins.record_specimen(staff, person.id, DAYS[4], NEG, now=now)

    key = f"specimen:{DAYS[4].isoformat()}"
    full = {a.key: a.amount for a in evaluate_history(enrollment, DAYS[4]).awards}
    assert full[key] == 25  # 4th in a row, not 5th
    # The voided day's 10 and the moved bonus were paid already: the corrected
    # history earns 110, the ledger holds 110, so the fifth test is withheld.
    assert sum(full.values()) == sum(paid(enrollment.id).values()) == 110
    assert key not in paid(enrollment.id)
    assert full_fold_posts_nothing(enrollment, now)


def test_a_checkpoint_written_by_another_engine_is_not_trusted(staff, clinic):
    _, enrollment, now = _three_negatives_then(staff, clinic)
    row = db.session.get(FoldCheckpoint, enrollment.id)
    row.fingerprint = "0" * 64
    db.session.commit()

    assert not trusted(enrollment, now)


BASE = rules.EnrollmentFacts(start_on=START)


@pytest.mark.parametrize(
    "change",
    [
        {"protocol_id": 2},
        {"start_on": date(2026, 1, 6)},
        {"targets": ("cocaine",)},
        {"testing_days": {0: (1, 3)}},
        {"exemptions": (rules.Exemption("opiates", START),)},
        {"year_paid_cents": {2026: 100}},
        {"ends_on": date(2026, 3, 1)},
        {"events": 1},
        {"voids": 1},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_input_up_to_the_checkpoint_is_in_its_fingerprint(change):
    def fingerprint(protocol_id=1, events=3, voids=0, **facts):
        timeline = Timeline(
            enrollment=SimpleNamespace(protocol_id=protocol_id),
            spec=None,
            facts=rules.EnrollmentFacts(**{"start_on": START, **facts}),
            events=[],
        )
        return checkpoints.fingerprint(timeline, checkpoints.Counts(events, voids))

    assert fingerprint(**change) != fingerprint()


SHOWN = ("run", "level", "longest_run", "next_negative", "total_points")
SHOWN += ("total_cents", "total_draws", "capped_cents", "cents_by_year")


def shows_what_history_shows(enrollment: Enrollment, on: date) -> rules.Evaluation:
    shown, full = evaluate_enrollment(enrollment, on), evaluate_history(enrollment, on)
    for name in SHOWN:
        assert getattr(shown, name) == getattr(full, name), name
    return shown


def test_pages_resume_from_the_checkpoint_and_show_what_a_full_fold_shows(
    staff, clinic
):
    _, enrollment, now = _three_negatives_then(staff, clinic)

    shown = shows_what_history_shows(enrollment, DAYS[4])

    assert shown.since == db.session.get(FoldCheckpoint, enrollment.id).through_on
    assert [d.on for d in shown.days] == DAYS[3:5]  # only the days since
    assert (shown.run, shown.next_negative.points) == (4, 30)


def test_pages_fold_from_day_one_when_the_checkpoint_is_stale(staff, clinic):
    person, enrollment, now = _three_negatives_then(staff, clinic)
    # A back-dated positive written without a settle (as an import might, before
    # its settle runs): the stored checkpoint no longer matches its inputs.
    db.session.add(
        Event(
            clinic_id=clinic.id,
            participant_id=person.id,
            enrollment_id=enrollment.id,
            kind="specimen",
            collected_on=DAYS[1],
            results=POS,
            recorded_at=now,
            verified_at=now,
        )
    )
    db.session.commit()

    shown = shows_what_history_shows(enrollment, DAYS[4])

    assert shown.since is None
    assert shown.run == 2


def test_pages_after_a_void_show_the_refolded_run(staff, clinic):
    _, enrollment, now = _three_negatives_then(staff, clinic)
    first = db.session.scalars(
        select(Event).where(Event.enrollment_id == enrollment.id).order_by(Event.id)
    ).first()

    checkins.void_event(staff, first.id, "Entered for the wrong person", now=now)

    assert shows_what_history_shows(enrollment, DAYS[4]).run == 3
