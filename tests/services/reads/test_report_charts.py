"""The outcome report's chart series, from a small cohort built through the
services: two Higgins episodes (tests Mon/Wed/Fri) and one group-attendance
episode, over the first three enrolment weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import pytest

from cm_service.services.cm import appointments, checkins
from cm_service.services.reads import report_exports, reports
from cm_service.services.reads.report_charts import (
    CLINIC,
    CostPerNegative,
    Rate,
    series_of,
)
from tests.support.factories import START, make_enrolled, make_staff, scheduled

HIGGINS = "higgins-1994 v1"
GROUPS = "attendance-prize v1"
PETRY = "petry-ctn-2005 v1"
END = date(2026, 1, 25)  # the Sunday ending week 3
LATER = datetime(2026, 1, 26, 20, 0, tzinfo=UTC)  # Monday of week 4, Chicago 14:00
TUESDAY = START + timedelta(days=1)


def record(actor, person, tokens: str) -> None:
    """One token per Mon/Wed/Fri test from START: N negative, P positive,
    M missed, E excused, . nothing recorded (closed later as missed)."""
    days = scheduled(START, (0, 2, 4), len(tokens.split()))
    for on, token in zip(days, tokens.split(), strict=True):
        if token in "NP":
            result = "negative" if token == "N" else "positive"
            checkins.record_specimen(
                actor, person.id, on, {"cocaine": result}, now=LATER
            )
        elif token == "M":
            checkins.record_missed(actor, person.id, on, now=LATER)
        elif token == "E":
            checkins.excuse_day(actor, person.id, on, "hospital stay", now=LATER)


def attend(actor, person, session_type: str, days: list[date], booked: int) -> None:
    """Book `booked` weekly sessions from the first of `days`; attend `days`."""
    appointments.book(
        actor,
        person.id,
        session_type,
        days[0],
        time(10),
        weekly=booked > 1,
        until=days[0] + timedelta(weeks=booked - 1) if booked > 1 else None,
        now=datetime.combine(days[0], time(9), UTC),
    )
    for on in days:
        checkins.record_attendance(actor, person.id, on, session_type, now=LATER)


def build_cohort(staff, clinic) -> None:
    # P-0001: weeks 1-2 tested (N N N, N P N), week 3 missed; one individual
    # session, attended in week 1. Retained 2 weeks.
    one, _ = make_enrolled(staff, clinic, code="P-0001")
    record(staff, one, "N N N  N P N  . . .")
    attend(staff, one, "individual", [TUESDAY], booked=1)
    # P-0002: a miss and an excuse in week 1, then tested through week 3.
    two, _ = make_enrolled(staff, clinic, code="P-0002")
    record(staff, two, "N M E  N N N  N P N")
    # G-0001: 3 Tuesday groups booked, the first two attended. Retained 2 weeks.
    group, _ = make_enrolled(staff, clinic, "attendance-prize", "G-0001")
    attend(staff, group, "group", [TUESDAY, TUESDAY + timedelta(weeks=1)], booked=3)


@pytest.fixture
def auditor(clinic):
    return make_staff(clinic, "reader", "auditor")


@pytest.fixture
def cohort(staff, clinic):
    build_cohort(staff, clinic)


def test_percent_negative_by_week_pools_each_weeks_tests_per_protocol(auditor, cohort):
    report = reports.outcome_report(auditor, START, END, now=LATER)

    weekly = series_of(report).negative_by_week

    # The group protocol schedules no tests: it has no series.
    assert list(weekly) == [HIGGINS]
    # Week 1: 3 of 3 and 1 of 2 (the excused test leaves the denominator; the
    # missed one counts against). Week 3: P-0001's unrecorded tests are missed.
    assert weekly[HIGGINS] == {1: Rate(4, 5), 2: Rate(5, 6), 3: Rate(2, 6)}
    assert weekly[HIGGINS][2].percent == Fraction(250, 3)


def test_several_tested_protocols_add_a_clinic_line(auditor, staff, clinic, cohort):
    # P-0003 on Petry's prize CM (Mon/Thu): 2 negatives in week 1, then nothing.
    person, _ = make_enrolled(staff, clinic, "petry-ctn-2005", "P-0003")
    negative = dict.fromkeys(
        ("cocaine", "amphetamine", "methamphetamine", "alcohol"), "negative"
    )
    for on in (START, START + timedelta(days=3)):
        checkins.record_specimen(staff, person.id, on, negative, now=LATER)

    report = reports.outcome_report(auditor, START, END, now=LATER)

    weekly = series_of(report).negative_by_week
    assert list(weekly) == [CLINIC, HIGGINS, PETRY]
    assert weekly[PETRY] == {1: Rate(2, 2), 2: Rate(0, 2), 3: Rate(0, 2)}
    # Higgins' 4 of 5, 5 of 6, 2 of 6 pooled with Petry's.
    assert weekly[CLINIC] == {1: Rate(6, 7), 2: Rate(5, 8), 3: Rate(2, 8)}


def test_retention_counts_episodes_retained_among_those_reaching_the_week(
    auditor, cohort
):
    report = reports.outcome_report(auditor, START, END, now=LATER)

    retention = series_of(report).retention_by_week

    assert list(retention) == [CLINIC, GROUPS, HIGGINS]
    assert retention[HIGGINS] == {1: Rate(2, 2), 2: Rate(2, 2), 3: Rate(1, 2)}
    assert retention[GROUPS] == {1: Rate(1, 1), 2: Rate(1, 1), 3: Rate(0, 1)}
    assert retention[CLINIC] == {1: Rate(3, 3), 2: Rate(3, 3), 3: Rate(1, 3)}


def test_a_week_under_way_counts_nobody_as_lost(auditor, cohort):
    # Wednesday of week 4: week 4 has not ended, so it has no denominator yet.
    wednesday = datetime(2026, 1, 28, 20, 0, tzinfo=UTC)

    report = reports.outcome_report(auditor, START, date(2026, 1, 28), now=wednesday)

    assert max(series_of(report).retention_by_week[CLINIC]) == 3


def test_weeks_after_a_course_are_not_in_its_retention(auditor, cohort):
    # 17 weeks measured: Higgins runs 12 weeks, the group protocol 16.
    report = reports.outcome_report(
        auditor, START, date(2026, 5, 3), now=datetime(2026, 5, 4, 20, tzinfo=UTC)
    )

    retention = series_of(report).retention_by_week

    assert max(retention[HIGGINS]) == 12
    assert max(retention[GROUPS]) == 16
    assert retention[HIGGINS][12] == Rate(0, 2)
    # Weeks 13-16: only the group episode's course still runs.
    assert retention[CLINIC][13] == Rate(0, 1)


def test_cost_per_negative_is_exact_and_agrees_with_the_tables(auditor, cohort):
    report = reports.outcome_report(auditor, START, END, now=LATER)

    costs = series_of(report).cost_per_negative

    # Higgins points at 25 cents: P-0001 10+15+20 (+40 bonus), 25, reset, 10 =
    # 120; P-0002 10, reset, 10+15+20 (+40), 25, reset, 10 = 130.
    assert costs[HIGGINS] == CostPerNegative(Fraction(6250), 11)
    assert costs[HIGGINS].per_negative == Fraction(6250, 11)
    assert report_exports.by_protocol(report)[HIGGINS]["cost_per_negative_cents"] == (
        568  # $5.6818... rounded
    )
    # Only Higgins tests: no clinic bar beside it, and the clinic summary divides
    # only what the episodes with tests earned (G-0001's draws have no negative).
    assert list(costs) == [HIGGINS]
    summary = report_exports.summary_of(report.episodes, report.missing)
    assert summary["cost_per_negative_cents"] == 568


def test_attendance_covers_only_protocols_with_booked_sessions(auditor, cohort):
    report = reports.outcome_report(auditor, START, END, now=LATER)

    rates = series_of(report).attendance

    # The third group, never checked in, is missed.
    assert rates == {GROUPS: Rate(2, 3), HIGGINS: Rate(1, 1)}
    assert rates[GROUPS].percent == Fraction(200, 3)


def test_an_empty_window_has_empty_series(auditor, staff):
    report = reports.outcome_report(auditor, START, END, now=LATER)

    found = series_of(report)

    assert found.negative_by_week == {}
    assert found.retention_by_week == {}
    assert found.cost_per_negative == {}
    assert found.attendance == {}
