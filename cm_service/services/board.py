"""The front desk's reads: today's board, the check-in page and a check-in's result.

Read-only use cases for staff screens. The board lists who the clinic's enrollments
schedule to test today (rules.scheduled_days) and where each stands, beside the
sessions booked today and the groups meeting today; the board and the check-in reads
write the audit "view" row because they show participants' records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .. import rules
from ..extensions import db
from ..models import (
    Appointment,
    AuditLog,
    Clinic,
    Enrollment,
    Event,
    Exemption,
    LedgerEntry,
    Participant,
    SessionGroup,
)
from . import appointments, audit, groups
from .actors import Actor
from .errors import NotFound
from .evaluation import evaluate_enrollment
from .ledger import Balance, balance_of
from .outlook import Outlook, outlook_of, session_noun
from .participants import exemptions_of
from .scope import get_participant
from .timeline import (
    Timeline,
    clinic_today,
    load_timelines,
    spec_of,
    to_facts,
    with_events_after,
)

# Recollects older than this have been dealt with or have become a missed day.
PENDING_DAYS = 7
# How today's session stands, by which of its events decides it (as the fold
# orders them: attendance, then an excuse, then a missed mark).
_DECIDES = {"attended": 0, "late": 0, "excused": 1, "missed": 2}
CAME = ("attended", "late")
_SESSION_WORD = {"attendance": "attended"}  # excused and missed keep their kind


@dataclass(frozen=True)
class BoardRow:
    participant: Participant
    enrollment: Enrollment
    scheduled: bool
    outcome: str | None  # today's test outcome; None while nothing is recorded
    # The sessions attended today, in words ("group session", "group session, late").
    sessions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeetingToday:
    """A group meeting today: how many are booked into it, how many came."""

    group: SessionGroup
    booked: int
    attended: int


@dataclass(frozen=True)
class SessionToday:
    """A session booked today outside a group, and how it stands."""

    appointment: Appointment
    outcome: str | None  # attended | late | excused | missed; None while open

    @property
    def what(self) -> str:
        return session_noun(self.appointment.session_type)


@dataclass(frozen=True)
class PendingItem:
    participant: Participant
    on: date
    what: str


@dataclass(frozen=True)
class Board:
    today: date
    waiting: list[BoardRow]
    checked_in: list[BoardRow]
    excused: list[BoardRow]
    pending: list[PendingItem]
    meetings: list[MeetingToday] = field(default_factory=list)
    sessions: list[SessionToday] = field(default_factory=list)


def today_board(actor: Actor, *, now: datetime) -> Board:
    """Who the actor's clinic expects today, who has checked in (for a test or
    only for a session), what is pending (specimens to recollect within the last
    PENDING_DAYS days), and today's group meetings and other booked sessions.

    Classifies only those days' events (rules.day_outcomes), in a few set-based
    queries for the whole clinic: a day's outcome does not depend on the fold.
    Writes the audit "view" row (the board lists participants' results).
    """
    actor.require("admin", "staff", "auditor")
    clinic = db.session.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFound("No such clinic.", "clinic")
    today = clinic_today(clinic, now)
    since = today - timedelta(PENDING_DAYS)
    enrollments = _active_enrollments(clinic.id)
    timelines = load_timelines(enrollments, with_events=False)
    timelines = with_events_after(timelines, dict.fromkeys(timelines, since))
    board = Board(today, [], [], [], [])
    for enrollment in enrollments:
        _place(board, timelines[enrollment.id], since)
    _add_sessions(board, clinic.id, timelines)
    audit.append(
        actor,
        "view_board",
        "clinic",
        clinic.id,
        now=now,
        clinic_id=clinic.id,
        detail={"on": today.isoformat(), "enrollments": len(enrollments)},
    )
    db.session.commit()
    return board


def _active_enrollments(clinic_id: int) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .join(Participant, Participant.id == Enrollment.participant_id)
            .options(contains_eager(Enrollment.participant))
            .where(Enrollment.clinic_id == clinic_id, Enrollment.status == "active")
            .order_by(Participant.code)
        )
    )


def _place(board: Board, timeline: Timeline, since: date) -> None:
    """Put one enrollment's today and its pending recollections on the board."""
    today, enrollment = board.today, timeline.enrollment
    days = rules.day_outcomes(
        timeline.spec, timeline.facts, to_facts(timeline.events), today, after=since
    )
    board.pending.extend(
        PendingItem(enrollment.participant, day.on, "recollect specimen")
        for day in days
        if day.outcome == "recollect"
    )
    scheduled = bool(rules.scheduled_days(timeline.spec, timeline.facts, today, today))
    day = next((d for d in days if d.on == today), None)
    attended = _attended_today(timeline, today)
    if not scheduled and day is None and not attended:
        return
    row = BoardRow(
        enrollment.participant,
        enrollment,
        scheduled,
        day.outcome if day else None,
        attended,
    )
    if day is None and not scheduled:
        board.checked_in.append(row)  # came only for a session
    elif row.outcome in (None, "recollect"):
        board.waiting.append(row)
    elif row.outcome == "excused":
        board.excused.append(row)
    else:
        board.checked_in.append(row)


def _attended_today(timeline: Timeline, today: date) -> tuple[str, ...]:
    return tuple(
        session_noun(e.session_type) + (", late" if e.late else "")
        for e in timeline.events
        if e.kind == "attendance" and e.collected_on == today and e.session_type
    )


def _add_sessions(board: Board, clinic_id: int, timelines: dict[int, Timeline]) -> None:
    """Today's group meetings (by weekday, or with a member booked today) and the
    sessions booked outside a group, with what today's events say of each."""
    outcomes = _session_outcomes(timelines.values(), board.today)
    booked = appointments.on_day(clinic_id, board.today)
    for group in groups.groups_of(clinic_id):
        members = [a for a in booked if a.group_id == group.id]
        if members or group.weekday == board.today.weekday():
            came = [a for a in members if outcomes.get(_slot(a)) in CAME]
            board.meetings.append(MeetingToday(group, len(members), len(came)))
    board.sessions.extend(
        SessionToday(a, outcomes.get(_slot(a))) for a in booked if a.group_id is None
    )


def _slot(appointment: Appointment) -> tuple[int, str]:
    return appointment.enrollment_id, appointment.session_type


def _session_outcomes(
    timelines: Iterable[Timeline], today: date
) -> dict[tuple[int, str], str]:
    """(enrollment, session type) -> how today's session of that type stands:
    attendance decides it before an excuse, an excuse before a missed mark."""
    found: dict[tuple[int, str], str] = {}
    for timeline in timelines:
        for e in timeline.events:
            if e.collected_on != today or not e.session_type:
                continue  # a test day's event, or another day's
            word = "late" if e.late else _SESSION_WORD.get(e.kind, e.kind)
            slot = (e.enrollment_id, e.session_type)
            if _DECIDES.get(word, 9) < _DECIDES.get(found.get(slot, ""), 9):
                found[slot] = word
    return found


def participant_codes(actor: Actor) -> list[str]:
    """The codes of the actor's clinic's participants (for type-ahead)."""
    actor.require("admin", "staff", "auditor")
    return list(
        db.session.scalars(
            select(Participant.code)
            .where(Participant.clinic_id == actor.clinic_id)
            .order_by(Participant.code)
        )
    )


def find_by_code(actor: Actor, code: str) -> Participant:
    """The actor's clinic's participant with this code (case-insensitive).

    Raises NotFound(field="code") for unknown codes and other clinics' codes alike.
    """
    actor.require("admin", "staff", "auditor")
    found = db.session.scalars(
        select(Participant).where(
            Participant.clinic_id == actor.clinic_id,
            Participant.code == (code or "").strip().upper(),
        )
    ).first()
    if found is None:
        raise NotFound("No participant with that code in this clinic.", "code")
    return found


@dataclass(frozen=True)
class Standing:
    """Where a participant stands: what a check-in screen shows around its form."""

    participant: Participant
    enrollment: Enrollment | None
    targets: tuple[str, ...]
    today: date
    balance: Balance
    evaluation: rules.Evaluation | None
    # The enrollment's prescribed-medication exemptions (badges on check-in).
    exemptions: tuple[Exemption, ...] = ()
    # Which lines fit the protocol: tests, sessions, money, draws (outlook.py).
    outlook: Outlook | None = None


def checkin_standing(actor: Actor, participant_id: int, *, now: datetime) -> Standing:
    """The participant's current enrollment, its target panel and standing.

    Writes the audit "view" row. Raises NotFound outside the actor's clinic.
    """
    standing = current_standing(actor, participant_id, now=now)
    participant = standing.participant
    audit.append(
        actor,
        "view_checkin",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
    )
    db.session.commit()
    return standing


def current_standing(actor: Actor, participant_id: int, *, now: datetime) -> Standing:
    """The same read without the audit row: for a form the actor just opened (its
    POST, or the re-rendered form after bad input, which must write nothing)."""
    actor.require("admin", "staff", "auditor")
    return _standing(get_participant(actor, participant_id), now)


def checkin_targets(actor: Actor, participant_id: int) -> tuple[str, ...]:
    """The substances the participant's check-in form asks about (no standing: a
    check-in POST needs only its form's fields)."""
    actor.require("admin", "staff", "auditor")
    return _targets(_active_enrollment(get_participant(actor, participant_id)))


def _active_enrollment(participant: Participant) -> Enrollment | None:
    return db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.participant_id == participant.id,
            Enrollment.status == "active",
        )
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()


def _targets(enrollment: Enrollment | None) -> tuple[str, ...]:
    if enrollment is None:
        return ()
    return tuple(enrollment.targets or spec_of(enrollment.protocol).targets.substances)


def _standing(participant: Participant, now: datetime) -> Standing:
    today = clinic_today(participant.clinic, now)
    enrollment = _active_enrollment(participant)
    evaluation = evaluate_enrollment(enrollment, today) if enrollment else None
    return standing_of(
        participant,
        enrollment,
        today,
        balance_of(participant.id),
        evaluation,
        exemptions_of(enrollment),
    )


def standing_of(
    participant: Participant,
    enrollment: Enrollment | None,
    today: date,
    balance: Balance,
    evaluation: rules.Evaluation | None,
    exemptions: tuple[Exemption, ...] = (),
) -> Standing:
    """The standing block's read-model from what a page has already read."""
    return Standing(
        participant,
        enrollment,
        _targets(enrollment),
        today,
        balance,
        evaluation,
        exemptions,
        outlook_of(enrollment, evaluation, balance, today),
    )


def _checkin_record(event: Event) -> dict:
    """The detail of the audit row the check-in that recorded `event` wrote."""
    record = db.session.scalars(
        select(AuditLog).where(
            AuditLog.object_type == "event",
            AuditLog.object_id == event.id,
            AuditLog.action == f"record_{event.kind}",
        )
    ).first()
    return record.detail if record else {}


def _posted_by_checkin(detail: dict, event: Event) -> list[LedgerEntry]:
    wanted = [tuple(pair) for pair in detail.get("posted", [])]
    entries = []
    for key, amount in wanted:
        entry = db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.enrollment_id == event.enrollment_id,
                LedgerEntry.award_key == key,
                LedgerEntry.amount == amount,
            )
            .order_by(LedgerEntry.id.desc())
        ).first()
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda e: e.id)


@dataclass(frozen=True)
class CheckinOutcome:
    """A recorded event and what it paid, with the participant's new standing."""

    event: Event
    posted: list[LedgerEntry]
    standing: Standing
    # Awards kept back to offset an earlier overpayment, explained.
    withheld: list[str] = field(default_factory=list)


def checkin_outcome(actor: Actor, event_id: int, *, now: datetime) -> CheckinOutcome:
    """The entries the check-in that recorded `event_id` posted, and the standing.

    The check-in's audit row lists what its settle posted ([award key, amount]);
    settle posts at most one entry per key, so the newest entry with that key and
    amount is the one. Writes the audit "view" row; NotFound outside scope.
    """
    actor.require("admin", "staff", "auditor")
    event = db.session.get(Event, event_id)
    if event is None or not actor.may_see_clinic(event.clinic_id):
        raise NotFound("No such check-in.", "event")
    detail = _checkin_record(event)
    posted = _posted_by_checkin(detail, event)
    withheld = [text for _, _, text in detail.get("withheld", [])]
    participant = get_participant(actor, event.participant_id)
    standing = _standing(participant, now)
    audit.append(
        actor,
        "view_checkin_result",
        "event",
        event.id,
        now=now,
        clinic_id=event.clinic_id,
        participant_id=event.participant_id,
    )
    db.session.commit()
    return CheckinOutcome(event, posted, standing, withheld)
