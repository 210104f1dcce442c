"""The front desk's reads: today's board, the check-in page and a check-in's result.

Read-only use cases for staff screens. The board lists who the clinic's enrollments
schedule to test today (rules.scheduled_days) and where each stands; the board and
the check-in reads write the audit "view" row because they show participants' records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .. import rules
from ..extensions import db
from ..models import (
    AuditLog,
    Clinic,
    Enrollment,
    Event,
    Exemption,
    LedgerEntry,
    Participant,
)
from . import audit
from .actors import Actor
from .errors import NotFound
from .evaluation import evaluate_enrollment
from .ledger import Balance, balance_of
from .outlook import Outlook, outlook_of
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
    (specimens to recollect within the last PENDING_DAYS days).

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
    if not scheduled and day is None:
        return
    row = BoardRow(
        enrollment.participant, enrollment, scheduled, day.outcome if day else None
    )
    if row.outcome in (None, "recollect"):
        board.waiting.append(row)
    elif row.outcome == "excused":
        board.excused.append(row)
    else:
        board.checked_in.append(row)


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
