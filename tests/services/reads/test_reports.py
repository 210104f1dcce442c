from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event
from cm_service.services.cm import checkins, ledger
from cm_service.services.errors import Forbidden, InvalidInput
from cm_service.services.reads import report_exports, reports
from tests.support.factories import START, make_enrolled, make_staff, scheduled

# A worked example: 2 tests a week (Mon, Thu) for 12 weeks.
WORKED = "N N P N N N M N N N N N E N N P N N N N N N N N"
LATER = datetime(2026, 4, 1, 20, 0, tzinfo=UTC)  # after the 24th test
WINDOW = (START, date(2026, 3, 31))


def record(actor, person, tokens: str) -> None:
    days = scheduled(START, (0, 3), len(tokens.split()))
    for on, token in zip(days, tokens.split(), strict=True):
        if token in "NP":
            result = "negative" if token == "N" else "positive"
            checkins.record_specimen(
                actor, person.id, on, {"cocaine": result}, now=LATER
            )
        elif token == "M":
            checkins.record_missed(actor, person.id, on, now=LATER)
        else:
            checkins.excuse_day(actor, person.id, on, "hospital stay", now=LATER)


@pytest.fixture
def auditor(clinic):
    return make_staff(clinic, "reader", "auditor")


@pytest.fixture
def worked(staff, clinic):
    person, _ = make_enrolled(staff, clinic, testing_days={0: [0, 3]})
    record(staff, person, WORKED)
    return person


def test_the_worked_example_reproduces_the_reference_measures(auditor, staff, worked):
    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    row = report_exports.episode_fields(report.episodes[0], "positive")
    assert (row["lda_tests_missing_positive"], row["lda_weeks_missing_positive"]) == (
        8,
        4.0,
    )
    assert (row["lda_tests_missing_ignored"], row["lda_weeks_missing_ignored"]) == (
        10,
        5.0,
    )
    assert row["negatives"] == 20
    assert row["percent_negative_of_scheduled"] == 86.96
    assert row["percent_negative_of_submitted"] == 90.91
    assert row["abstinent_4_weeks"] is True
    assert row["abstinent_8_weeks"] is False
    assert (row["tests_scheduled"], row["tests_excused"], row["missing"]) == (24, 1, 1)
    assert row["tests_submitted"] == 22
    # N N P N N N M N N N N N E N N P N N N N N N N N, in CTNote's alphabet.
    assert row["use_pattern"] == "--+---o-----_--+--------"
    assert (row["participant"], row["episode"]) == ("P-0001", 1)


def test_the_missing_ignored_option_changes_the_thresholds(auditor, staff, worked):
    report = reports.outcome_report(auditor, *WINDOW, now=LATER, missing="ignored")

    summary = report_exports.summary_of(report.episodes, report.missing)
    assert report.episodes[0].measures.abstinent_weeks("ignored") == 5
    assert summary["percent_abstinent_4_weeks"] == 100.0
    assert summary["percent_abstinent_8_weeks"] == 0.0


def test_closed_days_with_no_result_count_as_missed(auditor, staff, clinic):
    person, _ = make_enrolled(staff, clinic, testing_days={0: [0, 3]})
    record(staff, person, "N N")  # nothing after the first week

    report = reports.outcome_report(auditor, START, date(2026, 1, 18), now=LATER)

    measures = report.episodes[0].measures
    assert (measures.scheduled, measures.missing, measures.negatives) == (4, 2, 2)
    assert report.episodes[0].weeks_retained == 1


def test_cost_is_what_was_earned_and_paid_out_is_separate(
    auditor, staff, clinic, worked
):
    ledger.redeem_points(staff, worked.id, 100, now=LATER)
    earned = ledger.balance_of(worked.id).cents + 2500  # 100 points x 25 cents

    # The redemption is dated 2026-04-01, today at LATER.
    report = reports.outcome_report(auditor, START, date(2026, 4, 30), now=LATER)

    episode = report.episodes[0]
    assert episode.cost.cents == earned  # vouchers only: Higgins pays no draws
    assert episode.cost_per_negative == Fraction(earned, 20)
    # The all-negative course on its own Mon/Thu days (24 tests, not the preset's
    # 36) costs 1,940 points = $485.00.
    assert episode.share_of_maximum == Fraction(earned, 48500)
    assert report.paid_out_cents == 2500
    summary = report_exports.summary_of(report.episodes, report.missing)
    assert summary["cost_cents"] == earned


def test_settle_corrections_are_part_of_the_cost(auditor, staff, clinic):
    # Found by the cohort proof (test_report_cohort.py): a positive voided and
    # re-entered negative makes settle top up the later days with entries of kind
    # "adjustment" (the award's key); cost left them out.
    person, enrollment = make_enrolled(staff, clinic)  # Higgins, Mon/Wed/Fri
    days = scheduled(START, (0, 2, 4), 3)
    for on, result in zip(days, ("negative", "positive", "negative"), strict=True):
        checkins.record_specimen(staff, person.id, on, {"cocaine": result}, now=LATER)
    wrong = db.session.scalars(
        select(Event).where(
            Event.enrollment_id == enrollment.id, Event.collected_on == days[1]
        )
    ).one()
    checkins.void_event(staff, wrong.id, "Lab mix-up", now=LATER)
    checkins.record_specimen(
        staff, person.id, days[1], {"cocaine": "negative"}, now=LATER
    )

    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    # N N N: 10, 15, 20 + a 40-point bonus = 85 points at 25 cents.
    assert (
        report.episodes[0].cost.voucher_cents
        == 2125
        == ledger.balance_of(person.id).cents
    )
    assert [t.cents for t in report.episodes[0].tests[:3]] == [250, 375, 1500]


def test_the_clinic_summary_pools_participants(auditor, staff, clinic, worked):
    other, _ = make_enrolled(staff, clinic, code="P-0002", testing_days={0: [0, 3]})
    record(staff, other, "P P N N")

    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    summary = report_exports.summary_of(report.episodes, report.missing)
    assert (summary["participants"], summary["episodes"]) == (2, 2)
    assert [e.participant for e in report.episodes] == ["P-0001", "P-0002"]
    # (20 + 2) negatives of (23 + 24 - 0) counted tests; other's 20 unrecorded
    # closed days count as missed.
    assert summary["percent_negative_of_scheduled"] == round(100 * 22 / 47, 2)
    assert summary["percent_abstinent_4_weeks"] == 50.0


def test_another_clinics_participants_are_not_in_the_report(
    auditor, staff, worked, other_clinic
):
    outsider = make_staff(other_clinic, "elsewhere")
    make_enrolled(outsider, other_clinic, code="P-9999")

    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    assert [e.participant for e in report.episodes] == ["P-0001"]


def test_the_csv_starts_with_its_header_then_one_line_per_episode(
    auditor, staff, worked
):
    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    text = report_exports.episodes_csv(report, None)

    assert not any(line.startswith("#") for line in text.splitlines())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].startswith("participant,episode,protocol,")
    assert rows[0]["participant"] == "P-0001"
    assert rows[0]["percent_negative_of_scheduled"] == "86.96"


def test_recording_a_disclosure_writes_one_audit_row(auditor, staff, worked):
    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    reports.record_disclosure(auditor, report, "csv", now=LATER, deidentified=True)

    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export_outcome_report")
    ).one()
    assert row.detail["participants"] == ["P-0001"]
    assert row.detail["format"] == "csv"


@pytest.mark.parametrize(
    ("window", "missing", "field"),
    [
        ((date(2026, 3, 1), date(2026, 2, 1)), "positive", "to"),
        ((date(2020, 1, 1), date(2026, 1, 1)), "positive", "to"),
        (WINDOW, "negative", "missing"),
    ],
)
def test_a_bad_window_or_convention_is_refused(
    auditor, staff, worked, window, missing, field
):
    audit_rows = db.session.scalar(select(func.count()).select_from(AuditLog))

    with pytest.raises(InvalidInput) as refused:
        reports.outcome_report(auditor, *window, now=LATER, missing=missing)

    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_rows


def test_only_clinic_roles_read_reports(worked):
    from cm_service.services.access.actors import Actor

    participant = Actor(
        kind="participant", id=worked.id, clinic_id=1, role="participant"
    )

    with pytest.raises(Forbidden):
        reports.outcome_report(participant, *WINDOW, now=LATER)


def test_front_desk_staff_cannot_read_the_participant_level_report(staff, worked):
    """The web and the API both read it here: admins and auditors only (issue 15)."""
    with pytest.raises(Forbidden):
        reports.outcome_report(staff, *WINDOW, now=LATER)


def book_groups(staff, person, first, count):
    """Book `count` weekly Tuesday groups from `first` (attendance preset)."""
    from datetime import time, timedelta

    from cm_service.services.cm import appointments

    appointments.book(
        staff,
        person.id,
        "group",
        first,
        time(10),
        weekly=True,
        until=first + timedelta(weeks=count - 1),
        now=datetime.combine(first, time(9), UTC),
    )


def test_attendance_only_enrollments_have_no_specimen_measures(
    auditor, staff, clinic, worked
):
    # Finding: a group-only participant showed urine-test figures (0% negative,
    # "not abstinent"), dragging the clinic's rates down.
    from datetime import timedelta

    person, _ = make_enrolled(staff, clinic, "attendance-prize", "G-0001")
    tuesday = START + timedelta(days=1)
    book_groups(staff, person, tuesday, 4)
    for week in (0, 1, 3):
        on = tuesday + timedelta(weeks=week)
        checkins.record_attendance(staff, person.id, on, "group", now=LATER)

    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    rows = {
        e.participant: report_exports.episode_fields(e, "positive")
        for e in report.episodes
    }
    group = rows["G-0001"]
    assert group["tests_scheduled"] is None
    assert group["percent_negative_of_scheduled"] is None
    assert group["abstinent_4_weeks"] is None
    # 3 of 4 booked groups attended; the 3rd, never checked in, is missed.
    assert (group["sessions_booked"], group["sessions_attended"]) == (4, 3)
    assert group["percent_sessions_attended"] == 75.0
    summary = report_exports.summary_of(report.episodes, report.missing)
    # Only the specimen participant counts for the urine figures.
    assert summary["percent_abstinent_4_weeks"] == 100.0
    assert summary["percent_negative_of_scheduled"] == 86.96
    assert summary["percent_sessions_attended"] == 75.0


def test_an_excused_session_leaves_the_attendance_denominator(auditor, staff, clinic):
    from datetime import timedelta

    person, _ = make_enrolled(staff, clinic, "attendance-prize", "G-0002")
    tuesday = START + timedelta(days=1)
    book_groups(staff, person, tuesday, 2)
    checkins.record_attendance(staff, person.id, tuesday, "group", now=LATER, late=True)
    checkins.excuse_session(
        staff, person.id, tuesday + timedelta(weeks=1), "group", "flu", now=LATER
    )

    report = reports.outcome_report(auditor, *WINDOW, now=LATER)

    row = report_exports.episode_fields(report.episodes[0], "positive")
    assert (row["sessions_booked"], row["sessions_excused"]) == (2, 1)
    assert (row["sessions_attended"], row["sessions_late"]) == (1, 1)
    assert row["percent_sessions_attended"] == 100.0
