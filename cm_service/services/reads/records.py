"""A participant's full record for staff: events (voided ones too), enrollments,
draws and redemptions around the ledger, and single events for correction.

Read-only use cases; the record view writes the audit "view" row through
participants.view_participant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import (
    Draw,
    Enrollment,
    Event,
    LedgerEntry,
    Participant,
    Reward,
    StockMovement,
)
from ..access.actors import Actor
from ..cm.participants import ParticipantRecord, participant_record, view_participant
from ..errors import NotFound
from .board import Standing, standing_of


@dataclass(frozen=True)
class StaffRecord:
    record: ParticipantRecord
    events: list[Event]
    enrollments: list[Enrollment]
    draws: list[tuple[Draw, Reward | None]]
    redemptions: list[LedgerEntry]
    # The standing block, worded for the protocol (board.standing_of).
    standing: Standing


def view_record(actor: Actor, participant_id: int, *, now: datetime) -> StaffRecord:
    """Everything the staff participant page shows; audits the view.

    Raises NotFound outside the actor's clinic.
    """
    return _full_record(view_participant(actor, participant_id, now=now))


def record_again(actor: Actor, participant_id: int, *, now: datetime) -> StaffRecord:
    """view_record without the audit row: the record page shown again with a form's
    errors, after the view that showed the form was audited."""
    return _full_record(participant_record(actor, participant_id, now=now))


def _full_record(record: ParticipantRecord) -> StaffRecord:
    pid = record.participant.id
    events = list(
        db.session.scalars(
            select(Event)
            .where(Event.participant_id == pid)
            .order_by(Event.collected_on.desc(), Event.id.desc())
        )
    )
    enrollments = list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.participant_id == pid)
            .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
        )
    )
    made = list(
        db.session.scalars(
            select(Draw).where(Draw.participant_id == pid).order_by(Draw.id.desc())
        )
    )
    # Draw rows are append-only: the prize handed out is the draw's StockMovement.
    prizes = dict(
        db.session.execute(
            select(StockMovement.draw_id, Reward)
            .join(Reward, Reward.id == StockMovement.reward_id)
            .where(
                StockMovement.participant_id == pid, StockMovement.draw_id.is_not(None)
            )
        ).all()
    )
    draws = [(draw, prizes.get(draw.id)) for draw in made]
    redemptions = [e for e in record.entries if e.kind == "redemption"]
    standing = standing_of(
        record.participant,
        record.enrollment,
        record.today,
        record.balance,
        record.evaluation,
        record.exemptions,
    )
    return StaffRecord(record, events, enrollments, draws, redemptions, standing)


def get_event(actor: Actor, event_id: int) -> tuple[Event, Participant]:
    """One event the actor may see, with its participant; NotFound otherwise (also
    for other clinics' events)."""
    actor.require("admin", "staff", "auditor")
    event = db.session.get(Event, event_id)
    if event is None or not actor.may_see_clinic(event.clinic_id):
        raise NotFound("No such event.", "event")
    return event, db.session.get_one(Participant, event.participant_id)
