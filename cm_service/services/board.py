"""The front desk's reads: today's board, the check-in page and a check-in's result.

Read-only use cases for staff screens. The board lists who the clinic's enrollments
schedule to test today (rules.scheduled_days) and where each stands; the check-in
reads write the audit "view" row because they show a participant's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from .. import rules
from ..extensions import db
from ..models import AuditLog, Clinic, Enrollment, Event, LedgerEntry, Participant
from . import audit
from .actors import Actor
from .errors import NotFound
from .evaluation import evaluate_enrollment
from .ledger import Balance, balance_of
from .scope import get_participant
from .timeline import clinic_today, facts_of, spec_of

# Recollects older than this have been dealt with or have become a missed day.
PENDING_DAYS = 7


@dataclass(frozen=True)
class BoardRow:
    participant: Participant
    enrollment: Enrollment
    scheduled: bool
    outcome: str | None  # today's outcome; None while nothing is recorded


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


def today_board(actor: Actor, *, now: datetime) -> Board:
    """Who the actor's clinic expects today, who has checked in, and what is pending
    (specimens to recollect within the last PENDING_DAYS days)."""
    actor.require("admin", "staff", "auditor")
    clinic = db.session.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFound("No such clinic.", "clinic")
    today = clinic_today(clinic, now)
    waiting, checked_in, excused, pending = [], [], [], []
    for enrollment in _active_enrollments(clinic.id):
        evaluation = evaluate_enrollment(enrollment, today)
        row = _row_for_today(enrollment, evaluation, today)
        if row is not None:
            if row.outcome in (None, "recollect"):
                waiting.append(row)
            elif row.outcome == "excused":
                excused.append(row)
            else:
                checked_in.append(row)
        pending.extend(
            PendingItem(enrollment.participant, day.on, "recollect specimen")
            for day in evaluation.days
            if day.outcome == "recollect" and day.on > today - timedelta(PENDING_DAYS)
        )
    return Board(today, waiting, checked_in, excused, pending)


def _active_enrollments(clinic_id: int) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .join(Participant, Participant.id == Enrollment.participant_id)
            .where(Enrollment.clinic_id == clinic_id, Enrollment.status == "active")
            .order_by(Participant.code)
        )
    )


def _row_for_today(
    enrollment: Enrollment, evaluation: rules.Evaluation, today: date
) -> BoardRow | None:
    scheduled = bool(
        rules.scheduled_days(
            spec_of(enrollment.protocol), facts_of(enrollment), today, today
        )
    )
    day = next((d for d in evaluation.days if d.on == today), None)
    if not scheduled and day is None:
        return None
    return BoardRow(
        enrollment.participant, enrollment, scheduled, day.outcome if day else None
    )


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


def _standing(participant: Participant, now: datetime) -> Standing:
    today = clinic_today(participant.clinic, now)
    enrollment = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.participant_id == participant.id,
            Enrollment.status == "active",
        )
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()
    targets: tuple[str, ...] = ()
    evaluation = None
    if enrollment is not None:
        spec = spec_of(enrollment.protocol)
        targets = tuple(enrollment.targets or spec.targets.substances)
        evaluation = evaluate_enrollment(enrollment, today)
    return Standing(
        participant,
        enrollment,
        targets,
        today,
        balance_of(participant.id),
        evaluation,
    )


def _posted_by_checkin(event: Event) -> list[LedgerEntry]:
    record = db.session.scalars(
        select(AuditLog).where(
            AuditLog.object_type == "event",
            AuditLog.object_id == event.id,
            AuditLog.action == f"record_{event.kind}",
        )
    ).first()
    wanted = [
        tuple(pair) for pair in (record.detail.get("posted", []) if record else [])
    ]
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
    posted = _posted_by_checkin(event)
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
    return CheckinOutcome(event, posted, standing)
