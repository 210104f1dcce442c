"""Outcome reports for researchers, payers and clinical directors: read-only.

Every enrollment is an **episode**, numbered per participant in start order; a report
has one row per episode overlapping its window, and reports what happened inside the
window. Each episode's scheduled tests come from the same fold that pays awards, its
booked sessions from its appointments, its cost from the ledger (what was earned, net
of offsets) valued the CM way. The arithmetic is in `rules.outcomes_report`; the
exported shapes are in `services.reads.report_exports`. Only `record_disclosure` writes:
an export of episode-level data is a disclosure, and the audit log keeps it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import rules
from ...extensions import db
from ...models import Clinic, Consent, Draw, Enrollment, LedgerEntry, Participant
from ...rules import ctnote
from ...rules import outcomes_report as measures
from ...rules.outcomes_report import Attendance, Cost, Measures
from ..access import audit, consents
from ..access.actors import Actor, Recipient
from ..cm.timeline import Timeline, clinic_today, load_timelines, not_null
from ..errors import InvalidInput
from ..validation import check_date

MAX_DAYS = 3 * 366  # a report window longer than three years is a typing mistake
CONTACT_KINDS = ("specimen", "breath", "attendance")
# What an episode earned: its awards and bonuses, and settle's own corrections of
# them (kind "adjustment" with the award's key: a void re-entered as negative tops up
# the days after it, a clawback protocol takes back). Without them a corrected
# episode's cost missed what the ledger holds for it. A manual adjustment has no
# award key and is not earned by a test or a session.
EARNED_KINDS = ("award", "bonus", "adjustment")
# Who may read the episode-level outcome report, on the web and through the API:
# front-desk staff (and staff-role API tokens) may not export it.
READERS = ("admin", "auditor")


@dataclass(frozen=True)
class TestDay:
    """One scheduled test of an episode inside the window, as the fold decided it."""

    on: date
    week: int
    outcome: str  # negative | positive | refused | missed | excused | recollect
    cents: int
    draws: int


@dataclass(frozen=True)
class SessionDay:
    """One booked session of an episode inside the window and how it ended."""

    on: date
    week: int
    session_type: str
    outcome: str  # attended | late | excused | missed
    cents: int
    draws: int


@dataclass(frozen=True)
class Episode:
    participant: str
    participant_id: int
    episode: int  # 1 for a participant's first enrollment, 2 for the next...
    enrollment_id: int
    protocol: str  # key and version, e.g. "higgins-1994 v1"
    protocol_key: str
    course_weeks: int  # the protocol version's last week
    start_on: date
    status: str
    tests: tuple[TestDay, ...]
    sessions: tuple[SessionDay, ...]
    measures: Measures | None  # None: the protocol schedules no tests
    attendance: Attendance
    weeks_retained: int
    course_ended: bool  # its last scheduled week ended inside the window
    completed: bool
    cost: Cost
    maximum_cents: Fraction  # the all-negative (all-attended) course's cost

    @property
    def use_pattern(self) -> str:
        return ctnote.use_pattern(t.outcome for t in self.tests)

    @property
    def weekly_pattern(self) -> str:
        """One symbol per enrolment week with a scheduled test (CTN-0094's weekly
        word). A week with no test expected (all excused, a closure) is dropped:
        the named definitions then see only weeks a test was due."""
        weeks: dict[int, list[str]] = defaultdict(list)
        for test in self.tests:
            weeks[test.week].append(test.outcome)
        word = ctnote.weekly_pattern(weeks[week] for week in sorted(weeks))
        return word.replace(ctnote.NONE_EXPECTED, "")

    @property
    def cost_per_negative(self) -> Fraction | None:
        return self.cost.per_negative(self.measures.negatives if self.measures else 0)

    @property
    def share_of_maximum(self) -> Fraction | None:
        return self.cost.share_of(self.maximum_cents)


@dataclass(frozen=True)
class OutcomeReport:
    clinic_id: int
    start: date
    end: date
    as_of: date
    missing: measures.Missing
    episodes: tuple[Episode, ...]
    paid_out_cents: int  # redemptions and prizes handed out in the window

    @property
    def tested(self) -> list[Episode]:
        """The episodes whose protocol schedules tests (specimen measures)."""
        return [e for e in self.episodes if e.measures is not None]


def outcome_report(
    actor: Actor,
    start: date,
    end: date,
    *,
    now: datetime,
    missing: str = "positive",
) -> OutcomeReport:
    """The episodes of the actor's clinic overlapping [start, end], measured inside
    the window up to today.

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
    window = _Window(start, end, min(end, today), today)
    enrollments, numbers = _episodes(clinic.id, start, end)
    timelines = load_timelines(enrollments)
    earned = _earned(sorted(timelines), start, window.as_of)
    maxima: dict[tuple[Any, ...], Fraction] = {}
    episodes = tuple(
        _episode(t, numbers[t.enrollment.id], window, earned, maxima)
        for t in sorted(
            timelines.values(),
            key=lambda t: (t.enrollment.participant.code, t.enrollment.start_on),
        )
    )
    return OutcomeReport(
        clinic.id,
        start,
        end,
        window.as_of,
        missing,  # type: ignore[arg-type]
        episodes,
        _paid_out(clinic.id, start, end),
    )


@dataclass(frozen=True)
class _Window:
    start: date
    end: date
    as_of: date  # the last day measured: the window's end, or today if earlier
    today: date


def _episodes(
    clinic_id: int, start: date, end: date
) -> tuple[list[Enrollment], dict[int, int]]:
    """The enrollments overlapping the window, and every enrollment's episode
    number (its place among the participant's enrollments, by start)."""
    every = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.clinic_id == clinic_id)
        .order_by(Enrollment.participant_id, Enrollment.start_on, Enrollment.id)
        .options(
            selectinload(Enrollment.participant), selectinload(Enrollment.protocol)
        )
    ).all()
    numbers: dict[int, int] = {}
    seen: dict[int, int] = defaultdict(int)
    for enrollment in every:
        seen[enrollment.participant_id] += 1
        numbers[enrollment.id] = seen[enrollment.participant_id]
    overlapping = [
        e
        for e in every
        if e.start_on <= end and (e.ends_on is None or e.ends_on >= start)
    ]
    return overlapping, numbers


def _episode(
    timeline: Timeline,
    number: int,
    window: _Window,
    earned: dict[int, dict[str, Any]],
    maxima: dict[tuple[Any, ...], Fraction],
) -> Episode:
    enrollment = timeline.enrollment
    paid = earned.get(enrollment.id, {})
    tests = tuple(_tests(timeline, window, paid.get("by_key", {})))
    sessions = tuple(_sessions(timeline, window, paid.get("by_key", {})))
    contact = _contact_weeks(timeline, window.as_of)
    last_week = timeline.spec.end_week
    last_day = enrollment.start_on + timedelta(weeks=last_week) - timedelta(days=1)
    counted = [
        measures.ScheduledTest(_as_missing(t.outcome), _per_week(timeline, t.on))
        for t in tests
    ]
    ended = window.start <= last_day <= window.as_of and last_day < window.today
    return Episode(
        participant=enrollment.participant.code,
        participant_id=enrollment.participant_id,
        episode=number,
        enrollment_id=enrollment.id,
        protocol=f"{enrollment.protocol.key} v{enrollment.protocol.version}",
        protocol_key=enrollment.protocol.key,
        course_weeks=last_week,
        start_on=enrollment.start_on,
        status=enrollment.status,
        tests=tests,
        sessions=sessions,
        measures=measures.measure(counted) if _schedules_tests(timeline) else None,
        attendance=measures.attendance(s.outcome for s in sessions),
        weeks_retained=measures.weeks_retained(contact),
        course_ended=ended,
        completed=measures.completed(
            last_week=last_week,
            contact_weeks=contact,
            ended_in_window=ended,
            discharged_before_end=enrollment.status == "discharged"
            and enrollment.ends_on is not None
            and enrollment.ends_on < last_day,
        ),
        cost=measures.Cost(
            voucher_cents=paid.get("cents", 0),
            draws=paid.get("draws", 0),
            draw_value_cents=_draw_value(timeline.spec),
        ),
        maximum_cents=_maximum(timeline, maxima),
    )


def _as_missing(outcome: str) -> str:
    # A day left pending (a dilute awaiting a valid sample) counts as missing for
    # the measures; the use pattern keeps it as "not clearly negative" (`*`).
    return "missed" if outcome == "recollect" else outcome


def _tests(
    timeline: Timeline, window: _Window, by_key: dict[str, tuple[int, int]]
) -> Iterable[TestDay]:
    evaluation = timeline.evaluate(window.as_of)
    for day in evaluation.days:
        if not day.scheduled or not window.start <= day.on <= window.as_of:
            continue
        outcome = day.outcome
        if outcome is None:
            if day.on >= window.today:
                continue  # today's test may still come: pending, not missed
            outcome = "missed"
        cents, draws = _paid_on(by_key, ("specimen", "bonus"), day.on)
        yield TestDay(day.on, day.week, outcome, cents, draws)


def _sessions(
    timeline: Timeline, window: _Window, by_key: dict[str, tuple[int, int]]
) -> Iterable[SessionDay]:
    """How each booked session in the window ended; today's only once recorded."""
    recorded: dict[tuple[date, str], list[str]] = defaultdict(list)
    for event in timeline.events:
        if event.session_type is None:
            continue
        kind = "late" if event.kind == "attendance" and event.late else event.kind
        recorded[(event.collected_on, event.session_type)].append(kind)
    start = timeline.enrollment.start_on
    for on, session_type in sorted(
        {(b.on, b.session_type) for b in timeline.facts.bookings}
    ):
        if not window.start <= on <= window.as_of:
            continue
        outcome = _session_outcome(recorded.get((on, session_type), []))
        if outcome is None and on < window.today:
            outcome = "missed"
        if outcome is None:
            continue
        cents, draws = _paid_on(
            by_key, ("attendance", "attendance-bonus"), on, session_type
        )
        week = (on - start).days // 7 + 1
        yield SessionDay(on, week, session_type, outcome, cents, draws)


def _session_outcome(kinds: Sequence[str]) -> str | None:
    for kind, outcome in (
        ("attendance", "attended"),
        ("late", "late"),
        ("excused", "excused"),
        ("missed", "missed"),
    ):
        if kind in kinds:
            return outcome
    return None


def _paid_on(
    by_key: dict[str, tuple[int, int]],
    kinds: tuple[str, ...],
    on: date,
    session_type: str | None = None,
) -> tuple[int, int]:
    suffix = on.isoformat() + (f":{session_type}" if session_type else "")
    found = [by_key.get(f"{kind}:{suffix}", (0, 0)) for kind in kinds]
    return sum(c for c, _ in found), sum(d for _, d in found)


def _contact_weeks(timeline: Timeline, as_of: date) -> set[int]:
    start = timeline.enrollment.start_on
    return {
        (e.collected_on - start).days // 7 + 1
        for e in timeline.events
        if e.kind in CONTACT_KINDS and start <= e.collected_on <= as_of
    }


def _schedules_tests(timeline: Timeline) -> bool:
    """Whether any phase schedules specimens (the enrollment's days or the spec's)."""
    return any(
        timeline.facts.testing_days.get(index, phase.testing_days)
        for index, phase in enumerate(timeline.spec.phases)
    )


def _per_week(timeline: Timeline, on: date) -> int:
    found = rules.phase_at(timeline.spec, timeline.facts, on)
    index, phase = found if found else (0, timeline.spec.phases[0])
    return max(len(timeline.facts.testing_days.get(index, phase.testing_days)), 1)


def _draw_value(spec: rules.ProtocolSpec) -> Fraction:
    bowl = rules.bowl_of(spec)
    return rules.expected_value_cents(bowl) if bowl else Fraction(0)


def _maximum(timeline: Timeline, cache: dict[tuple[Any, ...], Fraction]) -> Fraction:
    """The simulator's all-negative (all-attended) cost of this episode's course."""
    # On the enrollment's own testing days: Higgins tested Mon/Thu is a 24-test
    # course ($485.00), not the preset's 36 Mon/Wed/Fri tests ($997.50), which
    # halved a perfectly abstinent participant's share of the maximum.
    days = timeline.facts.testing_days
    key = (
        timeline.enrollment.protocol_id,
        timeline.enrollment.start_on,
        tuple(sorted(days.items())),
    )
    if key not in cache:
        cache[key] = rules.theoretical_maximum(
            timeline.spec, timeline.enrollment.start_on, testing_days=days
        ).cost_cents
    return cache[key]


def _earned(
    enrollment_ids: Sequence[int], start: date, as_of: date
) -> dict[int, dict[str, Any]]:
    """Per enrollment: what its award entries dated in [start, as_of] hold, in
    total (cents of points, draws) and per award key."""
    found: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"cents": 0, "draws": 0, "by_key": defaultdict(lambda: (0, 0))}
    )
    if not enrollment_ids:
        return found
    rows = db.session.execute(
        select(
            LedgerEntry.enrollment_id,
            LedgerEntry.award_key,
            LedgerEntry.account,
            func.sum(LedgerEntry.amount),
            func.sum(LedgerEntry.cents),
        )
        .where(
            LedgerEntry.enrollment_id.in_(list(enrollment_ids)),
            LedgerEntry.kind.in_(EARNED_KINDS),
            LedgerEntry.award_key.is_not(None),
            LedgerEntry.on.between(start, as_of),
        )
        .group_by(LedgerEntry.enrollment_id, LedgerEntry.award_key, LedgerEntry.account)
    )
    for enrollment_id, key, account, amount, cents in rows:
        episode = found[not_null(enrollment_id)]
        was_cents, was_draws = episode["by_key"][key]
        if account == "draws":
            episode["draws"] += int(amount)
            episode["by_key"][key] = (was_cents, was_draws + int(amount))
        else:
            episode["cents"] += int(cents)
            episode["by_key"][key] = (was_cents + int(cents), was_draws)
    return found


def _paid_out(clinic_id: int, start: date, end: date) -> int:
    """Redemptions and prizes handed out in the window, in cents."""
    in_window = LedgerEntry.on.between(start, end)
    redeemed = db.session.scalar(
        select(func.coalesce(-func.sum(LedgerEntry.cents), 0)).where(
            LedgerEntry.clinic_id == clinic_id,
            LedgerEntry.kind == "redemption",
            in_window,
        )
    )
    prizes = db.session.scalar(
        select(func.coalesce(func.sum(Draw.value_cents), 0))
        .join(LedgerEntry, Draw.ledger_entry_id == LedgerEntry.id)
        .where(LedgerEntry.clinic_id == clinic_id, in_window)
    )
    return int(redeemed or 0) + int(prizes or 0)


# Why a participant was left out of an identifiable export, by what is missing.
LEFT_OUT_WORDS = {
    "recipient": "no consent naming the recipient",
    "purpose": "consent not for this purpose",
    "shares": "consent does not cover everything exported",
    "expires_on": "consent expired",
    "revoked_on": "consent revoked",
    "signed_on": "consent dated after today",
}


@dataclass(frozen=True)
class Export:
    """What an export may send: the report with only the episodes of participants
    whose consent covers it (all of them when de-identified), and how many
    participants were left out for each reason (LEFT_OUT_WORDS)."""

    report: OutcomeReport
    deidentified: bool
    recipient: Recipient | None
    left_out: dict[str, int]

    @property
    def left_out_count(self) -> int:
        return sum(self.left_out.values())

    def left_out_words(self) -> str:
        """ "2 participants left out: 1 consent revoked, 1 no consent naming…" """
        if not self.left_out:
            return ""
        why = ", ".join(f"{n} {LEFT_OUT_WORDS[k]}" for k, n in self.left_out.items())
        count = self.left_out_count
        return f"{count} participant{'' if count == 1 else 's'} left out: {why}."


def sort_out(
    report: OutcomeReport, recipient: Recipient, *, now: datetime
) -> tuple[dict[int, Consent], dict[int, consents.ConsentRequired]]:
    """Read-only: for each participant in the report, the consent that lets their
    rows go to `recipient` (by participant id), or the refusal naming what is
    missing."""
    clinic = db.session.get(Clinic, report.clinic_id)
    today = clinic_today(clinic, now)  # type: ignore[arg-type]
    allowed: dict[int, Consent] = {}
    refusals: dict[int, consents.ConsentRequired] = {}
    for participant_id in dict.fromkeys(e.participant_id for e in report.episodes):
        participant = db.session.get(Participant, participant_id)
        try:
            allowed[participant_id] = consents.find_consent(
                participant,  # type: ignore[arg-type]
                recipient,
                consents.REPORT_SHARES,
                today,
            )
        except consents.ConsentRequired as refused:
            refusals[participant_id] = refused
    return allowed, refusals


def count_left_out(refusals: dict[int, consents.ConsentRequired]) -> dict[str, int]:
    """How many participants are left out for each reason (LEFT_OUT_WORDS)."""
    counts: dict[str, int] = {}
    for refused in refusals.values():
        reason = refused.field if refused.field in LEFT_OUT_WORDS else "recipient"
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def record_disclosure(
    actor: Actor,
    report: OutcomeReport,
    fmt: str,
    *,
    now: datetime,
    deidentified: bool = False,
    what: str = "episodes",
    recipient: Recipient | None = None,
    route: str = "outcome report export",
) -> Export:
    """Audit an export of the report's episode-level rows; identifiable, it is a
    disclosure to `recipient` (an outside recipient's token's own, else the one
    the request names) for its purpose.

    An identifiable export holds only the participants whose active consent
    covers the recipient, the purpose and everything the rows hold (identity,
    test results, attendance, incentives); the others are left out and counted
    by reason, and each participant sent gets a disclosure row, in the audit
    row's transaction. A de-identified export needs no consent and discloses
    nothing. Raises ConsentRequired when no recipient is named, or when the
    report has episodes and none of them may be sent (nothing is written then).
    """
    actor.require(*READERS)
    detail: dict[str, Any] = {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "format": fmt,
        "rows": what,
        "missing": report.missing,
        "deidentified": deidentified,
    }
    left_out: dict[str, int] = {}
    allowed: dict[int, Consent] = {}
    shared = consents.REPORT_SHARES
    if not deidentified:
        recipient = actor.recipient or recipient
        if recipient is None:
            raise consents.ConsentRequired(
                "Name the recipient of this identifiable export and its purpose, "
                "or export it de-identified (which needs no consent).",
                "recipient",
            )
        allowed, refusals = sort_out(report, recipient, now=now)
        left_out = count_left_out(refusals)
        if refusals and not allowed:
            if len(refusals) == 1:  # one participant: say exactly what is missing
                raise next(iter(refusals.values()))
            shares = ", ".join(consents.SHARE_WORDS[s] for s in shared)
            raise consents.ConsentRequired(
                "No participant in this report has a consent to share with "
                f"{recipient.name} for {recipient.purpose} covering {shares}: "
                + Export(report, False, recipient, left_out).left_out_words(),
                next(iter(left_out)),
                list(left_out),
            )
        report = replace(
            report,
            episodes=tuple(e for e in report.episodes if e.participant_id in allowed),
        )
        detail |= {
            "recipient": recipient.name,
            "recipient_class": recipient.class_name,
            "purpose": recipient.purpose,
            "left_out": left_out,
            "route": route,
        }
    detail["participants"] = sorted({e.participant for e in report.episodes})
    row = audit.append(
        actor,
        "export_outcome_report",
        "clinic",
        report.clinic_id,
        now=now,
        clinic_id=report.clinic_id,
        detail=detail,
    )
    for participant_id, consent in allowed.items():
        consents.log_disclosure(
            actor,
            participant_id,
            consent,
            recipient,  # type: ignore[arg-type]
            shared,
            route=route,
            audit_row=row,
            now=now,
        )
    db.session.commit()
    return Export(report, deidentified, recipient, left_out)
