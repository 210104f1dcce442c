"""The findings of the clinical audit (issue 12), one named regression test each:
corrections, late results and backdated enrollments never pay twice or break a cap.
Each runs on SQLite and PostgreSQL through the services the pages and the API call."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Event, EventVoid, LedgerEntry
from cm_service.services.cm import appointments, checkins, nightly
from cm_service.services.cm.events import add_event
from tests.support.factories import START, make_enrolled, scheduled

NEG = {"cocaine": "negative"}
STIMULANTS_NEG = dict.fromkeys(
    ("methamphetamine", "amphetamine", "cocaine"), "negative"
)
MWF = (0, 2, 4)


def at(clinic, day: date) -> datetime:
    return datetime.combine(day, time(14), ZoneInfo(clinic.timezone))


def posted(participant_id: int, account: str = "points") -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.participant_id == participant_id,
            LedgerEntry.account == account,
            LedgerEntry.award_key.is_not(None),
        )
    )


def cents_in_year(participant_id: int, year: int) -> int:
    rows = db.session.execute(
        select(LedgerEntry.on, LedgerEntry.cents).where(
            LedgerEntry.participant_id == participant_id,
            LedgerEntry.award_key.is_not(None),
        )
    )
    return sum(cents for on, cents in rows if on.year == year)


def event_on(enrollment_id: int, day: date) -> Event:
    return db.session.scalars(
        select(Event)
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(
            Event.enrollment_id == enrollment_id,
            Event.collected_on == day,
            EventVoid.id.is_(None),
        )
    ).one()


def test_a_void_inside_a_capped_year_never_raises_the_year_above_its_cap(staff, clinic):
    # Finding 1: at exactly $599.00, voiding an early negative let settle pay
    # +15, +53 and +18 points on later days: $642.00 for the year.
    person, enrollment = make_enrolled(staff, clinic, "ca-recovery-incentives")
    days = scheduled(START, (0, 3), 24) + scheduled(
        START + timedelta(weeks=12), (0,), 6
    )
    for day in days[:27]:
        checkins.record_specimen(
            staff, person.id, day, STIMULANTS_NEG, now=at(clinic, day)
        )
    assert cents_in_year(person.id, 2026) == 59900

    early = event_on(enrollment.id, days[1])
    checkins.void_event(
        staff, early.id, "Wrong participant's cup", now=at(clinic, days[27])
    )
    for day in days[27:]:
        checkins.record_specimen(
            staff, person.id, day, STIMULANTS_NEG, now=at(clinic, day)
        )

    assert cents_in_year(person.id, 2026) == 59900


def test_voiding_and_re_entering_a_result_pays_the_clean_history_once(staff, clinic):
    # Finding 2: six negatives (215 points), void the second, re-enter it: 255.
    person, enrollment = make_enrolled(staff, clinic)
    days = scheduled(START, MWF, 6)
    for day in days:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    assert posted(person.id) == 215

    second = event_on(enrollment.id, days[1])
    voided = checkins.void_event(
        staff, second.id, "Lab mix-up", now=at(clinic, days[5])
    )
    assert voided.posted == []  # nothing taken back, nothing more paid
    checkins.record_specimen(staff, person.id, days[1], NEG, now=at(clinic, days[5]))

    assert posted(person.id) == 215


def test_a_backdated_enrollment_has_its_closed_days_missed(staff, clinic):
    # Finding 3: negatives on a backdated enrollment's first and last days paid
    # the last as the "2nd consecutive negative" while the report counted the
    # days between as missed.
    days = scheduled(START, MWF, 6)
    for day in [START + timedelta(days=n) for n in range(12)]:
        nightly.run_nightly(
            clinic.id, day, now=at(clinic, days[-1] + timedelta(days=1))
        )
    later = at(clinic, days[-1] + timedelta(days=1))  # the Saturday after
    person, enrollment = make_enrolled(staff, clinic, start=START)

    checkins.record_specimen(staff, person.id, days[0], NEG, now=later)
    result = checkins.record_specimen(staff, person.id, days[-1], NEG, now=later)

    assert [(e.award_key, e.amount) for e in result.posted] == [
        (f"specimen:{days[-1].isoformat()}", 10)
    ]
    assert "2nd consecutive" not in result.posted[0].rule
    nightly.run_nightly(clinic.id, later.date(), now=later + timedelta(days=1))
    missed = db.session.scalars(
        select(Event.collected_on).where(
            Event.enrollment_id == enrollment.id, Event.kind == "missed"
        )
    )
    assert sorted(missed) == days[1:-1]
    assert posted(person.id) == 20


def test_a_voided_result_leaves_a_missed_day_the_nightly_job_writes(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    days = scheduled(START, MWF, 3)
    for day in days:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
        nightly.run_due(at(clinic, day + timedelta(days=1)), clinic_id=clinic.id)
    wrong = event_on(enrollment.id, days[1])
    checkins.void_event(
        staff, wrong.id, "Not this participant's cup", now=at(clinic, days[2])
    )

    nightly.run_due(at(clinic, days[2] + timedelta(days=2)), clinic_id=clinic.id)

    assert event_on(enrollment.id, days[1]).kind == "missed"
    # A result arriving later for the missed day replaces it, with the reason.
    checkins.record_specimen(staff, person.id, days[1], NEG, now=at(clinic, days[2]))
    assert event_on(enrollment.id, days[1]).kind == "specimen"
    reasons = db.session.scalars(select(EventVoid.reason)).all()
    assert any(r.startswith("Replaced by specimen event") for r in reasons)


def test_two_results_of_a_missed_day_imported_together_void_it_once(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    days = scheduled(START, MWF, 2)
    checkins.record_specimen(staff, person.id, days[1], NEG, now=at(clinic, days[1]))
    nightly.run_due(at(clinic, days[1] + timedelta(days=1)), clinic_id=clinic.id)
    assert event_on(enrollment.id, days[0]).kind == "missed"
    now = at(clinic, days[1] + timedelta(days=1))
    late = [
        add_event(enrollment, "specimen", days[0], now=now, results=NEG)
        for _ in range(2)
    ]

    replaced = checkins.replace_missed(late, actor_id=None, now=now)

    voids = db.session.scalars(select(EventVoid.event_id)).all()
    assert len(replaced) == 1
    assert voids == replaced


def test_a_group_session_entered_twice_on_one_day_pays_once(staff, clinic):
    # Finding 4: attendance awards were keyed per event.
    person, _ = make_enrolled(staff, clinic, "attendance-prize")
    day = START + timedelta(days=1)
    appointments.book(staff, person.id, "group", day, time(10), now=at(clinic, day))
    first = checkins.record_attendance(
        staff, person.id, day, "group", now=at(clinic, day)
    )
    again = checkins.record_attendance(
        staff, person.id, day, "group", now=at(clinic, day)
    )

    assert [(e.award_key, e.amount) for e in first.posted] == [
        (f"attendance:{day.isoformat()}:group", 1)
    ]
    assert again.posted == []
    assert posted(person.id, "draws") == 1


def test_california_resets_its_escalation_on_a_refusal(staff, clinic):
    # Finding 5: a refusal (failure to provide) did not reset California's ladder.
    person, _ = make_enrolled(staff, clinic, "ca-recovery-incentives")
    days = scheduled(START, (0, 3), 4)
    for day in days[:2]:
        checkins.record_specimen(
            staff, person.id, day, STIMULANTS_NEG, now=at(clinic, day)
        )
    checkins.record_specimen(
        staff, person.id, days[2], {}, refused=True, now=at(clinic, days[2])
    )

    result = checkins.record_specimen(
        staff, person.id, days[3], STIMULANTS_NEG, now=at(clinic, days[3])
    )

    assert [e.cents for e in result.posted] == [1000]  # back to $10.00


def test_california_pays_an_episode_spanning_new_year_at_most_599(staff, clinic):
    # Finding 5: an episode spanning 1 January paid $855.
    start = date(2026, 11, 2)
    person, _ = make_enrolled(staff, clinic, "ca-recovery-incentives", start=start)
    days = scheduled(start, (0, 3), 24) + scheduled(
        start + timedelta(weeks=12), (0,), 12
    )
    for day in days:
        checkins.record_specimen(
            staff, person.id, day, STIMULANTS_NEG, now=at(clinic, day)
        )

    assert cents_in_year(person.id, 2026) + cents_in_year(person.id, 2027) == 59900


def test_an_extra_unscheduled_negative_neither_pays_nor_advances(staff, clinic):
    # Finding 7: a Sunday test paid "4th consecutive negative".
    person, _ = make_enrolled(staff, clinic)
    days = scheduled(START, MWF, 4)
    for day in days[:3]:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    sunday = days[2] + timedelta(days=2)
    extra = checkins.record_specimen(
        staff, person.id, sunday, NEG, now=at(clinic, sunday)
    )
    monday = checkins.record_specimen(
        staff, person.id, days[3], NEG, now=at(clinic, days[3])
    )

    assert extra.posted == []
    assert [(e.amount, "4th consecutive" in e.rule) for e in monday.posted] == [
        (25, True)
    ]


def test_gaps_are_filled_only_up_to_the_last_date_every_run_has_closed(staff, clinic):
    # Two job processes catching up: one still closing Wednesday while the other
    # has closed Thursday and moves on to Friday. Friday's run must leave
    # Wednesday to its own run, or Wednesday's missed tests are written twice.
    person, enrollment = make_enrolled(staff, clinic)
    mon, wed = START, START + timedelta(days=2)
    later = at(clinic, START + timedelta(days=7))
    nightly.run_nightly(clinic.id, mon, now=later)
    nightly.run_nightly(clinic.id, START + timedelta(days=1), now=later)
    nightly.run_nightly(clinic.id, START + timedelta(days=3), now=later)  # Thu

    nightly.run_nightly(clinic.id, START + timedelta(days=4), now=later)  # Fri

    missed = db.session.scalars(
        select(Event.collected_on).where(Event.kind == "missed")
    ).all()
    assert wed not in missed
    nightly.run_nightly(clinic.id, wed, now=later)
    missed = db.session.scalars(
        select(Event.collected_on).where(Event.kind == "missed")
    ).all()
    assert sorted(missed) == [mon, wed, START + timedelta(days=4)]
