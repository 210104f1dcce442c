"""Keeps each enrollment's fold checkpoint and decides when one may be trusted.

A checkpoint (rules.Checkpoint, stored in `fold_checkpoint`) is a cache, never history:
settle resumes from it only while its fingerprint still matches every input the fold
read up to its date (the engine's code, the protocol version, the enrollment's
settings and exemptions, other enrollments' payments, and how many verified events
and voids are dated on or before it). Events and voids are append-only, so those two
counts change whenever anything up to the date does: a back-dated entry, a void, a
late verification. Anything else makes settle fold from day one, as reconciliation
always does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import and_, case, func, select

from ... import rules
from ...extensions import db
from ...models import Event, EventVoid, FoldCheckpoint
from ...rules import checkpoint as stored_form
from .timeline import Timeline, chunks

# Any change to the engine's code makes every stored checkpoint stale.
ENGINE = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted(Path(rules.__file__).parent.glob("*.py")))
).hexdigest()


@dataclass(frozen=True)
class Counts:
    """Verified events and voids of them dated on or before a date."""

    events: int = 0
    voids: int = 0


@dataclass(frozen=True)
class Resume:
    """Where settle may start one enrollment's fold, and what to store after it."""

    checkpoint: rules.Checkpoint | None
    row: FoldCheckpoint | None
    counts_then: Counts  # up to the checkpoint to be taken


def plan(
    timelines: Mapping[int, Timeline], take_on: date, *, trust: bool = True
) -> dict[int, Resume]:
    """For each enrollment: the stored checkpoint if it may be trusted (else None)
    and the counts up to `take_on`, read before any event is loaded so that an entry
    committed in between can only make the next settle distrust the new checkpoint."""
    ids = sorted(timelines)
    rows = _rows(ids)
    counts = _counts(ids, take_on)
    plans = {}
    for enrollment_id, timeline in timelines.items():
        row = rows.get(enrollment_id)
        before, then = counts.get(enrollment_id, (Counts(), Counts()))
        checkpoint = None
        if (
            trust
            and row is not None
            and row.fingerprint == fingerprint(timeline, before, row.through_on)
        ):
            checkpoint = stored_form.load(row.state, timeline.facts)
        plans[enrollment_id] = Resume(checkpoint, row, then)
    return plans


def store(timeline: Timeline, resume: Resume, taken: rules.Checkpoint | None) -> None:
    """Keep the checkpoint the fold took (inside the settling transaction)."""
    if taken is None:
        return
    row = resume.row
    if row is None:
        row = FoldCheckpoint(enrollment_id=timeline.enrollment.id)
        db.session.add(row)
    row.through_on = taken.through
    row.fingerprint = fingerprint(timeline, resume.counts_then, taken.through)
    row.state = stored_form.dump(taken)


def fingerprint(timeline: Timeline, counts: Counts, through: date | None = None) -> str:
    """The inputs of a fold up to `through` (booked sessions after it do not
    change the state there, so booking ahead keeps the checkpoint)."""
    facts = timeline.facts
    bookings = sorted(
        (b.on.isoformat(), b.session_type)
        for b in facts.bookings
        if through is None or b.on <= through
    )
    inputs = [
        ENGINE,
        timeline.enrollment.protocol_id,
        facts.start_on.isoformat(),
        facts.targets,
        sorted((k, list(v)) for k, v in facts.testing_days.items()),
        [
            [x.analyte, x.starts_on.isoformat(), x.ends_on and x.ends_on.isoformat()]
            for x in facts.exemptions
        ],
        sorted(facts.year_paid_cents.items()),
        [
            [p.program, p.starts_on.isoformat(), p.ends_on and p.ends_on.isoformat()]
            + [p.per_award_cents, p.per_month_cents, p.per_calendar_year_cents]
            for p in facts.programs
        ],
        sorted([list(w), c] for w, c in facts.program_paid_cents.items()),
        facts.ends_on and facts.ends_on.isoformat(),
        counts.events,
        counts.voids,
        bookings,
    ]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def resume_dates(plans: Mapping[int, Resume]) -> dict[int, date]:
    return {
        enrollment_id: plan.checkpoint.through
        for enrollment_id, plan in plans.items()
        if plan.checkpoint is not None
    }


def _rows(ids: Sequence[int]) -> dict[int, FoldCheckpoint]:
    found: dict[int, FoldCheckpoint] = {}
    for part in chunks(ids):
        found.update(
            (row.enrollment_id, row)
            for row in db.session.scalars(
                select(FoldCheckpoint).where(FoldCheckpoint.enrollment_id.in_(part))
            )
        )
    return found


def _counts(ids: Sequence[int], take_on: date) -> dict[int, tuple[Counts, Counts]]:
    """Per enrollment: counts up to its stored checkpoint's date and up to `take_on`.

    One aggregate per chunk over the index on (enrollment, date): it reads every
    event row of the enrollments, but in the database, not in Python."""
    voided = EventVoid.id.is_not(None)
    upto = {
        "stored": Event.collected_on <= FoldCheckpoint.through_on,
        "take": Event.collected_on <= take_on,
    }
    columns = [
        func.sum(case((condition, 1), else_=0)) for condition in upto.values()
    ] + [
        func.sum(case((and_(condition, voided), 1), else_=0))
        for condition in upto.values()
    ]
    found: dict[int, tuple[Counts, Counts]] = {}
    for part in chunks(ids):
        rows = db.session.execute(
            select(Event.enrollment_id, *columns)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .outerjoin(
                FoldCheckpoint, FoldCheckpoint.enrollment_id == Event.enrollment_id
            )
            .where(Event.enrollment_id.in_(part), Event.verified_at.is_not(None))
            .group_by(Event.enrollment_id)
        )
        for enrollment_id, stored, take, stored_voids, take_voids in rows:
            found[enrollment_id] = (
                Counts(int(stored or 0), int(stored_voids or 0)),
                Counts(int(take or 0), int(take_voids or 0)),
            )
    return found
