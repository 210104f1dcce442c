"""Outcome reports for clinicians and funders: read-only queries over the timeline.

Turns each enrollment's evaluated days (the same fold that pays awards) into the
measures of `rules.outcomes_report`, and the ledger into money earned, redeemed and
outstanding. Only `record_disclosure` writes: an export of participant-level data is
a disclosure, and the audit log keeps it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import rules
from ..extensions import db
from ..models import Clinic, Draw, Enrollment, LedgerEntry
from ..rules import outcomes_report as measures
from ..rules.money import round_half_up
from . import audit
from .actors import Actor
from .errors import InvalidInput
from .timeline import PAID_KINDS, Timeline, clinic_today, load_timelines
from .validation import check_date

FIELDS = [
    "code", "enrollment_id", "protocol", "start_on", "status", "scheduled",
    "excused", "missing", "negatives", "positives", "lda_tests", "lda_weeks",
    "lda_missing_ignored_tests", "lda_missing_ignored_weeks",
    "percent_negative_of_scheduled", "percent_negative_of_submitted",
    "abstinent_4_weeks", "abstinent_8_weeks", "abstinent_12_weeks",
    "sessions_booked", "sessions_attended", "sessions_late", "sessions_excused",
    "sessions_missed", "percent_sessions_attended",
    "weeks_retained", "completed", "earned_cents", "redeemed_cents",
    "prize_cents", "outstanding_cents",
]  # fmt: skip
MAX_DAYS = 3 * 366  # a report window longer than three years is a typing mistake
CONTACT_KINDS = ("specimen", "breath", "attendance")

CONVENTIONS = {
    "window": (
        "Scheduled tests from `from` to `to` (clinic-local dates), and only up to "
        "today; one row per participant, from their latest enrollment overlapping "
        "the window."
    ),
    "lda": (
        "Longest run of consecutive negative scheduled tests, in tests and in weeks "
        "(each test counts 1/tests-per-week of its phase). Excused tests neither "
        "extend nor break a run. Refusals always break it."
    ),
    "missing": (
        "missing=positive (default, the CM norm): an unexcused missed test breaks "
        "the run. missing=ignored (sensitivity): it is skipped. A closed scheduled "
        "day with no result counts as missed."
    ),
    "percent_negative_of_scheduled": "100 x N / (S - E): misses count against.",
    "percent_negative_of_submitted": (
        "100 x N / (N + P): refusals and misses are left out, so it overstates "
        "abstinence when people stop coming."
    ),
    "abstinence_thresholds": "Share of participants with LDA >= 4, 8 and 12 weeks.",
    "specimens": (
        "Specimen measures (tests, negatives, LDA, thresholds) only for enrollments "
        "whose protocol schedules tests; an attendance-only enrollment leaves them "
        "blank and out of the clinic's rates."
    ),
    "attendance": (
        "Booked sessions (appointments and group meetings, not cancelled) from "
        "`from` to `to`, up to yesterday and today's once recorded: attended "
        "(late arrivals included) / (booked - excused). A booked session with "
        "nothing recorded after its day counts as missed."
    ),
    "retention": (
        "Weeks retained: the last enrollment week with a sample or attended session "
        f"before {measures.DROPOUT_WEEKS} consecutive weeks without either. "
        "Completed: the enrollment is completed, or its protocol's last day has "
        "passed without discharge or dropout."
    ),
    "money": (
        "Integer cents. Earned: awards, bonuses and adjustments dated in the "
        "window. Redeemed: redemptions dated in the window. Prizes: catalogue value "
        "of draws made in the window. Outstanding: point balance at the window's "
        "end. Cost = redeemed + prizes; cost per participant rounds half up."
    ),
}


@dataclass(frozen=True)
class ParticipantOutcome:
    code: str
    enrollment_id: int
    protocol: str
    start_on: date
    status: str
    measures: measures.Measures | None  # None: the protocol schedules no tests
    attendance: measures.Attendance
    weeks_retained: int
    completed: bool
    earned_cents: int
    redeemed_cents: int
    prize_cents: int
    outstanding_cents: int


@dataclass(frozen=True)
class OutcomeReport:
    clinic_id: int
    start: date
    end: date
    as_of: date
    missing: measures.Missing
    rows: tuple[ParticipantOutcome, ...]

    def percent_negative(self, denominator: str) -> Fraction | None:
        """Pooled over participants: "scheduled" or "submitted"."""

        def pair(m: measures.Measures) -> tuple[int, int]:
            if denominator == "scheduled":
                return m.negatives, m.scheduled - m.excused
            return m.negatives, m.negatives + m.positives

        return measures.pooled_percent(pair(m) for m in self.tested)

    @property
    def tested(self) -> list[measures.Measures]:
        """The specimen measures of enrollments whose protocol schedules tests."""
        return [r.measures for r in self.rows if r.measures is not None]

    def share_reaching(self, weeks: int) -> Fraction | None:
        tested = self.tested
        hits = sum(m.reached(weeks, self.missing) for m in tested)
        return Fraction(100 * hits, len(tested)) if tested else None

    @property
    def percent_sessions_attended(self) -> Fraction | None:
        return measures.pooled_percent(
            (r.attendance.attended, r.attendance.booked - r.attendance.excused)
            for r in self.rows
        )

    @property
    def completion_rate(self) -> Fraction | None:
        done = sum(r.completed for r in self.rows)
        return Fraction(100 * done, len(self.rows)) if self.rows else None

    @property
    def mean_weeks_retained(self) -> Fraction | None:
        total = sum(r.weeks_retained for r in self.rows)
        return Fraction(total, len(self.rows)) if self.rows else None

    def total(self, attribute: str) -> int:
        return sum(getattr(r, attribute) for r in self.rows)

    @property
    def cost_cents(self) -> int:
        return self.total("redeemed_cents") + self.total("prize_cents")

    @property
    def cost_per_participant_cents(self) -> int | None:
        if not self.rows:
            return None
        return round_half_up(Fraction(self.cost_cents, len(self.rows)))


# Who may read the participant-level outcome report, on the web and through the API:
# front-desk staff (and staff-role API tokens) may not export it.
READERS = ("admin", "auditor")


def outcome_report(
    actor: Actor,
    start: date,
    end: date,
    *,
    now: datetime,
    missing: str = "positive",
) -> OutcomeReport:
    """Section 5's measures for the actor's clinic's participants over [start, end].

    Read-only. Raises InvalidInput("to") when the window is reversed or longer than
    three years, InvalidInput("from" | "to") for a date outside 1970-2100,
    InvalidInput("missing") for an unknown convention.
    """
    actor.require(*READERS)
    check_date("from", start)
    check_date("to", end)
    if end < start or (end - start).days > MAX_DAYS:
        raise InvalidInput("to", "Give a window of at most three years, from <= to.")
    if missing not in ("positive", "ignored"):
        raise InvalidInput("missing", "Use missing=positive or missing=ignored.")
    clinic = db.session.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise InvalidInput("clinic", "Reports are per clinic.")
    today = clinic_today(clinic, now)
    as_of = min(end, today)
    timelines = load_timelines(_latest_enrollments(clinic.id, start, end))
    money = _money(clinic.id, start, end)
    rows = tuple(
        _row(timeline, start, as_of, today, money)
        for timeline in sorted(
            timelines.values(), key=lambda t: t.enrollment.participant.code
        )
    )
    return OutcomeReport(clinic.id, start, end, as_of, missing, rows)  # type: ignore[arg-type]


def _latest_enrollments(clinic_id: int, start: date, end: date) -> list[Enrollment]:
    overlapping = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.clinic_id == clinic_id,
            Enrollment.start_on <= end,
            (Enrollment.ends_on.is_(None)) | (Enrollment.ends_on >= start),
        )
        .order_by(Enrollment.start_on, Enrollment.id)
        .options(
            selectinload(Enrollment.participant), selectinload(Enrollment.protocol)
        )
    )
    latest = {e.participant_id: e for e in overlapping}
    return list(latest.values())


def _row(
    timeline: Timeline,
    start: date,
    as_of: date,
    today: date,
    money: dict[str, dict[int, int]],
) -> ParticipantOutcome:
    enrollment = timeline.enrollment
    tests = _scheduled_tests(timeline, start, as_of, today)
    through = _weeks_through(timeline, as_of)
    tested = _schedules_tests(timeline)
    contact = {
        (e.collected_on - enrollment.start_on).days // 7 + 1
        for e in timeline.events
        if e.kind in CONTACT_KINDS and e.collected_on <= as_of
    }
    retained = measures.weeks_retained(contact, through)
    pid = enrollment.participant_id
    return ParticipantOutcome(
        code=enrollment.participant.code,
        enrollment_id=enrollment.id,
        protocol=f"{enrollment.protocol.key} v{enrollment.protocol.version}",
        start_on=enrollment.start_on,
        status=enrollment.status,
        measures=measures.measure(tests) if tested else None,
        attendance=measures.attendance(_booked_outcomes(timeline, start, as_of, today)),
        weeks_retained=retained,
        completed=_completed(timeline, as_of, retained),
        earned_cents=money["earned"].get(pid, 0),
        redeemed_cents=money["redeemed"].get(pid, 0),
        prize_cents=money["prizes"].get(pid, 0),
        outstanding_cents=money["outstanding"].get(pid, 0),
    )


def _scheduled_tests(
    timeline: Timeline, start: date, as_of: date, today: date
) -> list[measures.ScheduledTest]:
    evaluation = timeline.evaluate(as_of)
    tests = []
    for day in evaluation.days:
        if not day.scheduled or day.on < start or day.on > as_of:
            continue
        outcome = day.outcome
        if outcome in (None, "recollect"):
            if day.on >= today:
                continue  # today's test may still come: pending, not missed
            outcome = "missed"
        tests.append(measures.ScheduledTest(outcome, _per_week(timeline, day)))
    return tests


def _schedules_tests(timeline: Timeline) -> bool:
    """Whether any phase schedules specimens (the enrollment's days or the spec's)."""
    return any(
        timeline.facts.testing_days.get(index, phase.testing_days)
        for index, phase in enumerate(timeline.spec.phases)
    )


def _booked_outcomes(
    timeline: Timeline, start: date, as_of: date, today: date
) -> list[str]:
    """How each booked session in the window ended; today's only once recorded."""
    recorded: dict[tuple[date, str], list[str]] = defaultdict(list)
    for event in timeline.events:
        if event.session_type is None:
            continue
        kind = "late" if event.kind == "attendance" and event.late else event.kind
        recorded[(event.collected_on, event.session_type)].append(kind)
    outcomes = []
    for slot in sorted({(b.on, b.session_type) for b in timeline.facts.bookings}):
        if not start <= slot[0] <= as_of:
            continue
        kinds = recorded.get(slot, [])
        for outcome in ("attendance", "late", "excused", "missed"):
            if outcome in kinds:
                outcomes.append("attended" if outcome == "attendance" else outcome)
                break
        else:
            if slot[0] < today:
                outcomes.append("missed")
    return outcomes


def _per_week(timeline: Timeline, day: rules.DayOutcome) -> int:
    index = day.phase or 0
    weekdays = timeline.facts.testing_days.get(
        index, timeline.spec.phases[index].testing_days
    )
    return max(len(weekdays), 1)


def _last_day(timeline: Timeline) -> date:
    enrollment = timeline.enrollment
    end = enrollment.start_on + timedelta(days=7 * timeline.spec.end_week - 1)
    if enrollment.status == "discharged" and enrollment.ends_on is not None:
        return min(end, enrollment.ends_on)
    return end


def _weeks_through(timeline: Timeline, as_of: date) -> int:
    last = min(as_of, _last_day(timeline))
    return max((last - timeline.enrollment.start_on).days // 7 + 1, 0)


def _completed(timeline: Timeline, as_of: date, retained: int) -> bool:
    enrollment = timeline.enrollment
    if enrollment.status == "completed":
        return True
    if enrollment.status == "discharged" or _last_day(timeline) > as_of:
        return False
    # Still in contact in the protocol's final weeks: they did not drop out.
    return retained > timeline.spec.end_week - measures.DROPOUT_WEEKS


def _money(clinic_id: int, start: date, end: date) -> dict[str, dict[int, int]]:
    """Per participant id: earned, redeemed, prizes and outstanding cents."""
    in_window = LedgerEntry.on.between(start, end)
    sums: dict[str, dict[int, int]] = defaultdict(dict)
    queries = {
        "earned": select(LedgerEntry.participant_id, func.sum(LedgerEntry.cents)).where(
            LedgerEntry.account == "points",
            LedgerEntry.kind.in_(PAID_KINDS),
            in_window,
        ),
        "redeemed": select(
            LedgerEntry.participant_id, -func.sum(LedgerEntry.cents)
        ).where(LedgerEntry.kind == "redemption", in_window),
        "prizes": select(LedgerEntry.participant_id, func.sum(Draw.value_cents))
        .join(Draw, Draw.ledger_entry_id == LedgerEntry.id)
        .where(in_window),
        "outstanding": select(
            LedgerEntry.participant_id, func.sum(LedgerEntry.cents)
        ).where(
            LedgerEntry.account == "points",
            LedgerEntry.on.is_(None) | (LedgerEntry.on <= end),
        ),
    }
    for name, query in queries.items():
        rows = db.session.execute(
            query.where(LedgerEntry.clinic_id == clinic_id).group_by(
                LedgerEntry.participant_id
            )
        )
        sums[name] = {pid: int(total or 0) for pid, total in rows}
    return sums


def record_disclosure(
    actor: Actor, report: OutcomeReport, fmt: str, *, now: datetime
) -> None:
    """Audit an export of the report's participant-level rows (a disclosure)."""
    actor.require(*READERS)
    audit.append(
        actor,
        "export_outcome_report",
        "clinic",
        report.clinic_id,
        now=now,
        clinic_id=report.clinic_id,
        detail={
            "from": report.start.isoformat(),
            "to": report.end.isoformat(),
            "format": fmt,
            "missing": report.missing,
            "participants": [row.code for row in report.rows],
        },
    )
    db.session.commit()


def _shown(value: Fraction | None, places: int = 2) -> float | None:
    # The display edge: exact until here, then half up to `places` decimals.
    if value is None:
        return None
    scale = 10**places
    return round_half_up(value * scale) / scale


def row_fields(row: ParticipantOutcome, missing: str) -> dict[str, object]:
    """One participant's flat record, as the API and the CSV exports show it."""
    return {
        "code": row.code,
        "enrollment_id": row.enrollment_id,
        "protocol": row.protocol,
        "start_on": row.start_on.isoformat(),
        "status": row.status,
        **_specimen_fields(row.measures, missing),
        **_attendance_fields(row.attendance),
        "weeks_retained": row.weeks_retained,
        "completed": row.completed,
        "earned_cents": row.earned_cents,
        "redeemed_cents": row.redeemed_cents,
        "prize_cents": row.prize_cents,
        "outstanding_cents": row.outstanding_cents,
    }


SPECIMEN_FIELDS = FIELDS[FIELDS.index("scheduled") : FIELDS.index("sessions_booked")]


def _specimen_fields(m: measures.Measures | None, missing: str) -> dict[str, object]:
    if m is None:  # attendance only: no test was scheduled, none is reported
        return dict.fromkeys(SPECIMEN_FIELDS)
    return {
        "scheduled": m.scheduled,
        "excused": m.excused,
        "missing": m.missing,
        "negatives": m.negatives,
        "positives": m.positives,
        "lda_tests": m.lda.tests,
        "lda_weeks": _shown(m.lda.weeks, 1),
        "lda_missing_ignored_tests": m.lda_missing_ignored.tests,
        "lda_missing_ignored_weeks": _shown(m.lda_missing_ignored.weeks, 1),
        "percent_negative_of_scheduled": _shown(m.percent_of_scheduled),
        "percent_negative_of_submitted": _shown(m.percent_of_submitted),
        **{
            f"abstinent_{weeks}_weeks": m.reached(weeks, missing)  # type: ignore[arg-type]
            for weeks in measures.THRESHOLD_WEEKS
        },
    }


def _attendance_fields(a: measures.Attendance) -> dict[str, object]:
    return {
        "sessions_booked": a.booked,
        "sessions_attended": a.attended,
        "sessions_late": a.late,
        "sessions_excused": a.excused,
        "sessions_missed": a.missed,
        "percent_sessions_attended": _shown(a.percent_attended),
    }


def summary_fields(report: OutcomeReport) -> dict[str, object]:
    """The clinic's pooled measures for the window."""
    return {
        "participants": len(report.rows),
        "scheduled": sum(m.scheduled for m in report.tested),
        "excused": sum(m.excused for m in report.tested),
        "negatives": sum(m.negatives for m in report.tested),
        "percent_negative_of_scheduled": _shown(report.percent_negative("scheduled")),
        "percent_negative_of_submitted": _shown(report.percent_negative("submitted")),
        **{
            f"percent_abstinent_{weeks}_weeks": _shown(report.share_reaching(weeks))
            for weeks in measures.THRESHOLD_WEEKS
        },
        "sessions_booked": sum(r.attendance.booked for r in report.rows),
        "sessions_attended": sum(r.attendance.attended for r in report.rows),
        "percent_sessions_attended": _shown(report.percent_sessions_attended),
        "mean_weeks_retained": _shown(report.mean_weeks_retained, 1),
        "percent_completed": _shown(report.completion_rate),
        "earned_cents": report.total("earned_cents"),
        "redeemed_cents": report.total("redeemed_cents"),
        "prize_cents": report.total("prize_cents"),
        "outstanding_cents": report.total("outstanding_cents"),
        "cost_cents": report.cost_cents,
        "cost_per_participant_cents": report.cost_per_participant_cents,
    }


def as_json(report: OutcomeReport) -> dict[str, object]:
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "as_of": report.as_of.isoformat(),
        "missing": report.missing,
        "conventions": CONVENTIONS,
        "summary": summary_fields(report),
        "participants": [row_fields(r, report.missing) for r in report.rows],
    }


def as_csv(report: OutcomeReport) -> str:
    """One line per participant; the conventions lead as `#` comment lines."""
    out = io.StringIO()
    out.write(
        f"# cm-service outcome report {report.start.isoformat()} to "
        f"{report.end.isoformat()} (as of {report.as_of.isoformat()}), "
        f"missing={report.missing}\n"
    )
    for name, text in CONVENTIONS.items():
        out.write(f"# {name}: {text}\n")
    rows = [row_fields(r, report.missing) for r in report.rows]
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
