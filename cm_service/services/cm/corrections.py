"""Corrections: voiding a wrong event, manual point adjustments, and maker-checker.

When the clinic has `maker_checker` on, a correction or adjustment is not applied at
once: it becomes a pending Approval that a *different* staff member approves (then it
takes effect, in the same transaction as the decision) or rejects. Nothing is ever
deleted: a void sits beside its event and an adjustment is a new ledger entry.

Opening the void form or the approvals list writes the audit "view" row (both show
participants' records); the reads without it serve forms re-rendered after bad input.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ...extensions import db
from ...models import (
    Approval,
    Clinic,
    Enrollment,
    Event,
    EventVoid,
    LedgerEntry,
    Participant,
)
from ...rules import Standing, units_text
from ...rules.messages import N_, msg
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..reads.records import get_event
from ..validation import check_int, check_reason
from . import checkins
from .evaluation import offsets, standing
from .ledger import balance_of, lock_row, post_entry
from .participants import latest_enrollment
from .timeline import clinic_today, spec_of

# A hand adjustment is a correction, not a payout: 100,000 points is $25,000 at
# Higgins's 25 cents, far past any real one, and a mistyped zero more is refused.
MAX_ADJUSTMENT_POINTS = 100_000


@dataclass(frozen=True)
class Correction:
    """What a correction did: applied now (`entries` posted) or waiting (`approval`)."""

    participant_id: int
    entries: list[LedgerEntry]
    approval: Approval | None = None
    # What the correction did to the participant's money, in plain words.
    explanation: str = ""


def void_event(
    actor: Actor, event_id: int, reason: str, *, now: datetime
) -> Correction:
    """Void an event (settle posts the adjustment), or ask for approval first when
    the clinic uses maker-checker. Raises NotFound, InvalidInput("reason"),
    Conflict("already_voided" | "already_pending")."""
    actor.require("admin", "staff")
    event = _event_in_scope(actor, event_id)
    reason = check_reason(reason, "Give the reason for the correction.")
    if not _maker_checker(event.clinic_id):
        result = checkins.void_event(actor, event.id, reason, now=now)
        return Correction(
            event.participant_id,
            result.posted,
            explanation=_explain(event, now, result.evaluation),
        )
    if db.session.scalar(select(EventVoid.id).where(EventVoid.event_id == event.id)):
        raise Conflict("already_voided", "This event was already voided.")
    payload = {"event_id": event.id, "reason": reason}
    _refuse_duplicate(event.clinic_id, "void_event", "event_id", event.id)
    return _request(
        actor, event.clinic_id, event.participant_id, "void_event", payload, now
    )


def view_void_event(
    actor: Actor, event_id: int, *, now: datetime
) -> tuple[Event, Participant]:
    """The event the void form would correct, with its participant, as staff open
    the form; writes the audit "view_void_event" row. Raises NotFound outside the
    actor's clinic (records.get_event is the same read without the row)."""
    event, participant = get_event(actor, event_id)
    audit.append(
        actor,
        "view_void_event",
        "event",
        event.id,
        now=now,
        clinic_id=event.clinic_id,
        participant_id=participant.id,
    )
    db.session.commit()
    return event, participant


def adjust_points(
    actor: Actor, participant_id: int, points: int, memo: str, *, now: datetime
) -> Correction:
    """Add (or, negative, take away) points by hand with a memo; never below zero.

    Applied at once, or pending approval under maker-checker. Raises NotFound,
    InvalidInput("points" | "memo"), Conflict("insufficient_balance").
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    limit = MAX_ADJUSTMENT_POINTS
    check_int("points", points, minimum=-limit, maximum=limit)
    if points == 0:
        raise InvalidInput("points", "Enter a whole number of points, not zero.")
    memo = check_reason(memo, "Say why the points are adjusted.", field="memo")
    if latest_enrollment(participant.id) is None:
        raise InvalidInput("points", f"{participant.code} has never been enrolled.")
    lock_row(Participant, participant.id)  # as redeem_points: never below zero
    _check_balance(participant, points)
    payload = {"points": points, "memo": memo}
    if _maker_checker(participant.clinic_id):
        return _request(
            actor, participant.clinic_id, participant.id, "adjustment", payload, now
        )
    entry = _post_adjustment(
        actor, participant, points, memo, now, f"manual:{uuid.uuid4().hex}"
    )
    _audit(actor, "adjust_points", "ledger_entry", entry.id, participant, now, payload)
    db.session.commit()
    return Correction(participant.id, [entry])


def pending_approvals(actor: Actor) -> list[tuple[Approval, Participant | None]]:
    """The actor's clinic's corrections waiting for a second person, oldest first."""
    actor.require("admin", "staff", "auditor")
    return list(
        db.session.execute(
            select(Approval, Participant)
            .outerjoin(Participant, Participant.id == Approval.participant_id)
            .where(Approval.clinic_id == actor.clinic_id, Approval.status == "pending")
            .order_by(Approval.id)
        )
    )


def view_approvals(
    actor: Actor, *, now: datetime
) -> list[tuple[Approval, Participant | None]]:
    """pending_approvals as staff open the page; writes the audit "view_approvals"
    row on the clinic, with how many were shown (their codes and memos stay out)."""
    pending = pending_approvals(actor)
    audit.append(
        actor,
        "view_approvals",
        "clinic",
        actor.clinic_id,
        now=now,
        clinic_id=actor.clinic_id,
        detail={"count": len(pending)},
    )
    db.session.commit()
    return pending


def decide(
    actor: Actor, approval_id: int, approve: bool, *, now: datetime
) -> Correction:
    """Approve (apply it now) or reject a pending correction.

    The requester cannot decide their own request. Raises NotFound outside the
    clinic, Forbidden for the requester, Conflict("already_decided").
    """
    actor.require("admin", "staff")
    # Locked and re-read: two people deciding at once cannot both apply it.
    approval = db.session.scalars(
        select(Approval)
        .where(Approval.id == approval_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if approval is None or not actor.may_see_clinic(approval.clinic_id):
        raise NotFound("No such approval.", "approval")
    if approval.requested_by_id == actor.user_id:
        raise Forbidden("A different staff member must approve or reject this.")
    if approval.status != "pending":
        raise Conflict(
            "already_decided", f"This request was already {approval.status}."
        )
    participant = db.session.get_one(Participant, approval.participant_id)
    if approve:
        _check_still_applicable(approval, participant)
    approval.status = "approved" if approve else "rejected"
    approval.decided_by_id, approval.decided_at = actor.user_id, now
    action = "approve" if approve else "reject"
    _audit(
        actor,
        f"{action}_{approval.kind}",
        "approval",
        approval.id,
        participant,
        now,
        approval.payload,
    )
    if not approve:
        db.session.commit()
        return Correction(participant.id, [], approval)
    return _apply(actor, approval, participant, now)


def _check_still_applicable(approval: Approval, participant: Participant) -> None:
    # Checked before the decision is written: a failure leaves nothing half-done.
    if approval.kind == "void_event":
        voided = db.session.scalar(
            select(EventVoid.id).where(
                EventVoid.event_id == approval.payload["event_id"]
            )
        )
        if voided:
            raise Conflict("already_voided", "This event was already voided.")
    else:
        lock_row(Participant, participant.id)
        _check_balance(participant, approval.payload["points"])


def _apply(
    actor: Actor, approval: Approval, participant: Participant, now: datetime
) -> Correction:
    payload = approval.payload
    if approval.kind == "void_event":
        # checkins.void_event commits the decision together with the void.
        result = checkins.void_event(
            actor, payload["event_id"], payload["reason"], now=now
        )
        event = db.session.get_one(Event, payload["event_id"])
        explanation = _explain(event, now, result.evaluation)
        return Correction(participant.id, result.posted, approval, explanation)
    entry = _post_adjustment(
        actor,
        participant,
        payload["points"],
        payload["memo"],
        now,
        f"approval:{approval.id}",
    )
    db.session.commit()
    return Correction(participant.id, [entry], approval)


def _post_adjustment(
    actor: Actor,
    participant: Participant,
    points: int,
    memo: str,
    now: datetime,
    key: str,
) -> LedgerEntry:
    enrollment = latest_enrollment(participant.id)
    if enrollment is None:  # adjust_points refuses it first; enrollments stay
        raise InvalidInput("points", f"{participant.code} has never been enrolled.")
    unit = spec_of(enrollment.protocol).unit_cents
    why = msg(N_("Manual adjustment of %(points)s points"), points=f"{points:+d}")
    entry = post_entry(
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        enrollment_id=enrollment.id,
        account="points",
        kind="adjustment",
        amount=points,
        cents=points * unit,
        idempotency_key=key,
        on=clinic_today(participant.clinic, now),
        why=why,
        memo=memo,
        posted_at=now,
        posted_by_id=actor.user_id,
    )
    db.session.flush()
    return entry


def _check_balance(participant: Participant, points: int) -> None:
    balance = balance_of(participant.id).points
    if balance + points < 0:
        raise Conflict(
            "insufficient_balance",
            f"The balance is {balance} points; it cannot go below zero.",
            "points",
        )


def _request(
    actor: Actor,
    clinic_id: int,
    participant_id: int,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> Correction:
    approval = Approval(
        clinic_id=clinic_id,
        participant_id=participant_id,
        kind=kind,
        payload=payload,
        status="pending",
        requested_by_id=actor.user_id,
        requested_at=now,
    )
    db.session.add(approval)
    db.session.flush()
    participant = db.session.get_one(Participant, participant_id)
    _audit(actor, f"request_{kind}", "approval", approval.id, participant, now, payload)
    db.session.commit()
    return Correction(participant_id, [], approval)


def _refuse_duplicate(clinic_id: int, kind: str, key: str, value: int) -> None:
    pending = db.session.scalars(
        select(Approval).where(
            Approval.clinic_id == clinic_id,
            Approval.kind == kind,
            Approval.status == "pending",
        )
    )
    if any(a.payload.get(key) == value for a in pending):
        raise Conflict("already_pending", "A correction of this is already waiting.")


def _audit(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int,
    participant: Participant,
    now: datetime,
    detail: Mapping[str, Any],
) -> None:
    audit.append(
        actor,
        action,
        object_type,
        object_id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail=dict(detail),
    )


def _event_in_scope(actor: Actor, event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or not actor.may_see_clinic(event.clinic_id):
        raise NotFound("No such event.", "event")
    return event


def _maker_checker(clinic_id: int) -> bool:
    return bool(db.session.get_one(Clinic, clinic_id).maker_checker)


def _explain(event: Event, now: datetime, evaluation: Standing | None = None) -> str:
    """What a void did to the money under the protocol's correction rule, e.g.
    "keeps 25 points: this protocol never takes back earned points; the next
    awards withhold $6.25". `evaluation` is where the void's settle left it."""
    enrollment = db.session.get_one(Enrollment, event.enrollment_id)
    spec = spec_of(enrollment.protocol)
    if spec.corrections == "clawback":
        return (
            "This protocol takes back what the corrected history no longer earns, "
            "so the ledger now equals what the protocol pays for it."
        )
    if evaluation is None:
        today = clinic_today(enrollment.clinic, now)
        evaluation = standing(enrollment, today)
    over = offsets({enrollment.id: evaluation})[enrollment.id]
    kept = dict(
        db.session.execute(
            select(LedgerEntry.account, func.sum(LedgerEntry.amount))
            .where(
                LedgerEntry.enrollment_id == enrollment.id,
                LedgerEntry.on == event.collected_on,
                LedgerEntry.award_key.is_not(None),
            )
            .group_by(LedgerEntry.account)
        ).all()
    )
    what = " and ".join(
        f"{n} {'point' if a == 'points' else 'draw'}{'' if n == 1 else 's'}"
        for a, n in sorted(kept.items())
        if n
    )
    text = (
        f"{enrollment.participant.code} keeps {what or 'nothing'} paid for "
        f"{event.collected_on:%a %Y-%m-%d}: this protocol never takes back "
        "what was earned"
    )
    owed = [
        units_text(spec, a, n) for a, n in sorted(over.items(), reverse=True) if n > 0
    ]
    if owed:
        return f"{text}; the next awards withhold {' and '.join(owed)}."
    return f"{text}; nothing more is owed back."
