"""Fidelity from the data, per staff member and week (issue 14)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cm_service.services.cm import checkins, corrections, ledger
from cm_service.services.errors import Forbidden, InvalidInput
from cm_service.services.reads import fidelity, reports
from tests.support.factories import START, make_enrolled, make_staff

NEG = {"cocaine": "negative"}
STIMULANTS = dict.fromkeys(("cocaine", "amphetamine", "methamphetamine"), "negative")
WINDOW = (START, date(2026, 1, 18))


def at(clinic, day: date, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo(clinic.timezone))


@pytest.fixture
def auditor(clinic):
    return make_staff(clinic, "reader", "auditor")


def test_awards_same_day_draws_made_and_adjustments_per_staff_week(
    auditor, staff, clinic
):
    higgins, _ = make_enrolled(staff, clinic)
    va, _ = make_enrolled(staff, clinic, "va-prize-2014", "P-0002")
    monday, wednesday = START, START + timedelta(days=2)
    # Two negatives entered at the visit; one lab result entered two days late.
    checkins.record_specimen(staff, higgins.id, monday, NEG, now=at(clinic, monday))
    checkins.record_specimen(
        staff, higgins.id, wednesday, NEG, now=at(clinic, wednesday + timedelta(2))
    )
    # VA: 1 draw earned Monday and made at once; 2 earned Thursday, none made.
    checkins.record_specimen(staff, va.id, monday, STIMULANTS, now=at(clinic, monday))
    ledger.draw_prize(staff, va.id, now=at(clinic, monday, 15), secret=b"s")
    thursday = START + timedelta(days=3)
    checkins.record_specimen(
        staff, va.id, thursday, STIMULANTS, now=at(clinic, thursday)
    )
    corrections.adjust_points(
        staff, higgins.id, 5, "Bus fare promised", now=at(clinic, thursday)
    )

    found = fidelity.fidelity(auditor, *WINDOW)

    (week,) = found["staff_weeks"]
    assert (week["staff"], week["week"], week["visits"]) == ("tech", "2026-W02", 4)
    # Awards: Higgins Mon, Wed; VA Mon (1 draw), Thu (2 draws).
    assert week["awards"] == 4
    assert week["percent_awarded_same_day"] == 75.0  # Wednesday's came Friday
    assert week["median_minutes_to_award"] == 0
    assert (week["draws_earned"], week["percent_draws_made_same_day"]) == (3, 33.3)
    assert (week["manual_adjustments"], week["adjustments_per_100_awards"]) == (1, 25.0)


def test_the_clinic_weeks_count_scheduled_tests_collected(auditor, staff, clinic):
    person, _ = make_enrolled(staff, clinic, testing_days={0: [0, 3]})
    checkins.record_specimen(staff, person.id, START, NEG, now=at(clinic, START))
    later = at(clinic, date(2026, 1, 19))
    report = reports.outcome_report(auditor, *WINDOW, now=later)

    found = fidelity.fidelity(auditor, *WINDOW, report=report)

    # Week 2 (Mon 5, Thu 8): 1 of 2 collected; week 3 (12, 15): none.
    assert found["clinic_weeks"] == [
        {"week": "2026-W02", "tests_scheduled": 2, "percent_tests_collected": 50.0},
        {"week": "2026-W03", "tests_scheduled": 2, "percent_tests_collected": 0.0},
    ]


def test_fidelity_is_for_admins_and_auditors_with_a_sane_window(auditor, staff, clinic):
    with pytest.raises(Forbidden):
        fidelity.fidelity(staff, *WINDOW)
    with pytest.raises(InvalidInput) as error:
        fidelity.fidelity(auditor, WINDOW[1], WINDOW[0])
    assert error.value.field == "to"
