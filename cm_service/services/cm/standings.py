"""Keeps each enrollment's standing, so pages read where it stands instead of folding.

A standing (rules.Standing, stored in `enrollment_standing`) is what a fold said the
enrollment stands at on one clinic day. Settle writes it in the check-in's own
transaction (`settle_explained`) and the nightly job writes one for the new day for
every active enrollment; a page reads it when it is for today and was written by
this engine, and otherwise folds as before (evaluation.standings).

It is a cache, never history, and it must never be read stale: every write to what
a fold reads deletes, in the same flush, the standings it could change (`INPUTS`:
events and voids, exemptions, pauses, bookings and funding of an enrollment, the
enrollment itself, any ledger row of the participant, a clinic's closures,
programs and nightly runs). A model that is no input says why in `NOT_INPUTS`; a
test fails on a model in neither. Reconciliation compares every standing it meets
with a fresh fold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, event, insert, select
from sqlalchemy.orm import Session

from ... import rules
from ...extensions import db
from ...models import (
    Appointment,
    ClinicClosure,
    Enrollment,
    EnrollmentFunding,
    EnrollmentStanding,
    Event,
    EventVoid,
    Exemption,
    FundingProgram,
    JobRun,
    LedgerEntry,
    Model,
    Pause,
)
from ...rules import standing as stored_form
from .checkpoints import ENGINE
from .timeline import PAID_KINDS, chunks


def _always(_row: Any) -> bool:
    return True


def _paid(entry: LedgerEntry) -> bool:
    """Awards and adjustments: what the fold's caps, offsets and totals read (a
    redemption's debit changes none of them)."""
    return entry.kind in PAID_KINDS or entry.award_key is not None


def _closing(run: JobRun) -> bool:
    """A nightly run: the dates it closes decide which days are missed."""
    return run.job == "nightly"


# What each model's rows are to the fold, and whose standings a change to one ends:
# (scope, column, which rows) with scope "enrollment", "event", "participant" or
# "clinic".
INPUTS: dict[type[Model], tuple[str, str, Callable[[Any], bool]]] = {
    Event: ("enrollment", "enrollment_id", _always),
    Exemption: ("enrollment", "enrollment_id", _always),
    Pause: ("enrollment", "enrollment_id", _always),
    Appointment: ("enrollment", "enrollment_id", _always),
    EnrollmentFunding: ("enrollment", "enrollment_id", _always),
    Enrollment: ("enrollment", "id", _always),
    EventVoid: ("event", "event_id", _always),
    LedgerEntry: ("participant", "participant_id", _paid),
    ClinicClosure: ("clinic", "clinic_id", _always),
    FundingProgram: ("clinic", "clinic_id", _always),
    JobRun: ("clinic", "clinic_id", _closing),
}

# Models the fold never reads, by table, with the reason.
NOT_INPUTS = {
    "enrollment_standing": "the standing itself",
    "fold_checkpoint": "a cache the fold resumes from only while it matches",
    "protocol": "versions are immutable; an enrollment's pin cannot change",
    "clinic": "its time zone decides today, which a standing is read on",
    "participant": "who they are, not what they did",
    "user": "staff accounts",
    "session_group": "a group's sessions are booked as appointments",
    "group_member": "membership books appointments, which are inputs",
    "reward": "the catalogue; redeeming posts a ledger row",
    "draw": "a draw's outcome; its prize posts a ledger row",
    "stock_movement": "stock, not incentives",
    "audit_log": "who did and saw what",
    "recovery_code": "staff sign-in",
    "login_attempt": "sign-in throttling",
    "approval": "an approval's effect is written as events or ledger rows",
    "api_token": "access",
    "idempotent_response": "replayed API answers",
    "form_draft": "unsaved forms",
    "consent": "disclosure consent",
    "disclosure": "disclosure log",
    "reminder_setting": "reminder preferences",
    "reminder_channel": "reminder addresses",
    "outbox": "messages waiting to be sent",
}


def read(enrollment_ids: Iterable[int], on: date) -> dict[int, rules.Standing]:
    """The stored standings for `on` that this engine wrote, by enrollment."""
    found: dict[int, rules.Standing] = {}
    for part in chunks(sorted(set(enrollment_ids))):
        rows = db.session.execute(
            select(EnrollmentStanding.enrollment_id, EnrollmentStanding.state).where(
                EnrollmentStanding.enrollment_id.in_(part),
                EnrollmentStanding.as_of == on,
                EnrollmentStanding.engine == ENGINE,
            )
        )
        for enrollment_id, state in rows:
            standing = stored_form.load(state)
            if standing is not None:
                found[enrollment_id] = standing
    return found


def write(standings: Mapping[int, rules.Standing], *, now: datetime) -> None:
    """Keep `standings` (by enrollment), replacing what was kept, inside the
    caller's transaction. Written with Core statements after the inputs were
    flushed, so nothing in this flush can end them."""
    if not standings:
        return
    db.session.flush()
    ids = sorted(standings)
    for part in chunks(ids):
        db.session.execute(
            delete(EnrollmentStanding).where(EnrollmentStanding.enrollment_id.in_(part))
        )
    db.session.execute(
        insert(EnrollmentStanding),
        [
            {
                "enrollment_id": i,
                "as_of": standings[i].as_of,
                "engine": ENGINE,
                "state": stored_form.dump(standings[i]),
                "written_at": now,
            }
            for i in ids
        ],
    )


@event.listens_for(Session, "after_flush")
def _forget_what_changed(session: Session, _context: Any) -> None:
    """Delete the standings the flushed rows could change (see the module's doc)."""
    touched: dict[str, set[int]] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        found = INPUTS.get(type(obj))
        if found is None or not found[2](obj):
            continue
        scope, column, _ = found
        value = getattr(obj, column, None)
        if value is not None:
            touched.setdefault(scope, set()).add(value)
    if not touched:
        return
    connection = session.connection()
    ids = set(touched.get("enrollment", ()))
    for scope, query in _WHOSE.items():
        for part in chunks(sorted(touched.get(scope, ()))):
            ids.update(connection.execute(query(list(part))).scalars())
    # By primary key, the ids found first: with a subquery SQLite scans the table
    # (50 ms at 100,000 enrollments, inside the write lock).
    for part in chunks(sorted(ids)):
        connection.execute(
            delete(EnrollmentStanding).where(
                EnrollmentStanding.enrollment_id.in_(list(part))
            )
        )


# How to find the enrollments of a scope's ids.
_WHOSE: dict[str, Callable[[list[int]], Select[int]]] = {
    "event": lambda ids: select(Event.enrollment_id).where(Event.id.in_(ids)),
    "participant": lambda ids: select(Enrollment.id).where(
        Enrollment.participant_id.in_(ids)
    ),
    "clinic": lambda ids: select(Enrollment.id).where(Enrollment.clinic_id.in_(ids)),
}
