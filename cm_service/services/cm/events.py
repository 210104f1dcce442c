"""Recording an event: the one place an Event row is made.

A check-in, a lab import, the night's missed and excused days and a closed
session's missed mark all record through `add_event`, so what every event carries
(its clinic and participant from the enrollment, when it was recorded, who verified
it) is set the same way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ...extensions import db
from ...models import Enrollment, Event


def add_event(
    enrollment: Enrollment,
    kind: str,
    on: date,
    *,
    now: datetime,
    by_id: int | None = None,
    **fields: Any,
) -> Event:
    """Add one event to the session (the caller flushes and settles): recorded and
    verified at `now`, by `by_id` (None: the system, for a missed or excused day).
    `fields` are the event's own (results, brac_milli, session_type, reason, ...)."""
    event = Event(
        clinic_id=enrollment.clinic_id,
        participant_id=enrollment.participant_id,
        enrollment_id=enrollment.id,
        kind=kind,
        collected_on=on,
        recorded_at=now,
        recorded_by_id=by_id,
        verified_by_id=by_id,
        verified_at=now,
        **fields,
    )
    db.session.add(event)
    return event
