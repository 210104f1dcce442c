"""The reconciliation job: a rotating seventh of enrollments folded from day one."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import FoldCheckpoint, JobRun
from cm_service.services.cm import checkins, ledger, nightly
from tests.support.factories import START, make_enrolled

from .test_nightly import NEG, after

WEEK = [date(2026, 1, 12) + timedelta(days=n) for n in range(7)]


def reconciliations(clinic_id: int) -> list[tuple[date, str]]:
    return [
        (run.run_on, run.status)
        for run in db.session.scalars(
            select(JobRun)
            .where(JobRun.clinic_id == clinic_id, JobRun.job == nightly.RECONCILE_JOB)
            .order_by(JobRun.run_on)
        )
    ]


def test_the_tick_reconciles_each_of_the_last_seven_closed_days_once(staff, clinic):
    people = [make_enrolled(staff, clinic, code=f"P-{n:04d}")[1] for n in range(9)]
    now = after(WEEK[-1])

    closed, checked = nightly.tick(now)
    again = nightly.tick(now)

    assert [o.day for o in closed][-1] == WEEK[-1]
    assert [(o.day, o.status) for o in checked] == [(d, "succeeded") for d in WEEK]
    assert again == ([], [])
    assert reconciliations(clinic.id) == [(d, "succeeded") for d in WEEK]
    # Over the week every enrollment was in exactly one slice.
    assert sum(o.counts.reconciled for o in checked) == len(people)
    assert sum(o.counts.reconcile_differences for o in checked) == 0


def test_a_date_is_reconciled_only_after_it_was_closed(staff, clinic):
    make_enrolled(staff, clinic)

    assert nightly.reconcile_due(after(WEEK[-1])) == []
    nightly.run_nightly(clinic.id, WEEK[-1], now=after(WEEK[-1]))
    assert [o.day for o in nightly.reconcile_due(after(WEEK[-1]))] == [WEEK[-1]]


def test_reconciliation_finds_and_corrects_a_balance_that_drifted(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    days = [START + timedelta(days=n) for n in (0, 2, 4, 7)]
    for day in days[:3]:
        checkins.record_specimen(staff, person.id, day, NEG, now=after(day))
    # A stored checkpoint that lies (its fingerprint still matches): the run it
    # remembers is lost, so the next settle pays the 4th negative as a 1st.
    row = db.session.get(FoldCheckpoint, enrollment.id)
    row.state = {**row.state, "streak": {**row.state["streak"], "level": 0, "run": 0}}
    db.session.commit()
    checkins.record_specimen(staff, person.id, days[3], NEG, now=after(days[3]))
    underpaid = ledger.balance_of(person.id).points
    slice_day = next(
        d for d in WEEK if d.toordinal() % 7 == enrollment.id % 7
    )  # the day whose slice holds this enrollment

    check = nightly.run_reconciliation(clinic.id, slice_day, now=after(slice_day))

    assert check.counts.reconcile_differences == 1
    # 10 + 15 + 20 (+ $10 bonus = 40 points) + 25 for the 4th in a row.
    assert ledger.balance_of(person.id).points == underpaid + 15 == 110
