"""Session outcomes: which sessions an attendance schedule counts, and how each ended.

Owns the attendance schedules of docs/protocol-spec.md as the fold reads them.
Without `scheduled`, every attended session of a paid type counts (once per
clinic-local day and type). With `scheduled: true` only booked sessions count, and
each ends `attended`, `late` (arrived after `on_time_minutes`), `missed` (recorded by
the nightly job, or derived once the day is closed) or `excused`; a booked session
still open is not folded yet. Imports only the standard library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .days import last_day, phase_at
from .facts import EnrollmentFacts, Fact
from .made import made
from .spec import ProtocolSpec, Schedule

ONE_DAY = timedelta(days=1)
# Which of a slot's events decides it: attendance, then an excuse, then missed.
_PRECEDENCE = {"attendance": 0, "excused": 1, "missed": 2}


@dataclass(frozen=True)
class SessionOutcome:
    """How one counted session ended, and which attendance schedule it belongs to
    (`phase`, and `index` in that phase's list: streaks carry over by index)."""

    on: date
    session_type: str
    outcome: str  # attended | late | missed | excused
    event_id: int | None
    phase: int
    index: int
    booked: bool


def session_outcomes(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    as_of: date,
    *,
    after: date | None = None,
) -> list[SessionOutcome]:
    """Every counted session in (after, as_of], in date order then by session type."""
    if not any(phase.attendance for phase in spec.phases):
        return []  # no schedule pays a session (schedule_for finds none)
    last = min(as_of, last_day(spec, facts))
    first = facts.start_on if after is None else max(facts.start_on, after + ONE_DAY)
    by_slot: dict[tuple[date, str], list[Fact]] = defaultdict(list)
    for event in events:
        if event.is_session and event.session_type and first <= event.on <= last:
            by_slot[(event.on, event.session_type)].append(event)
    booked = {(b.on, b.session_type) for b in facts.bookings if first <= b.on <= last}
    found = []
    for on, session_type in sorted(by_slot.keys() | booked):
        where = schedule_for(spec, facts, on, session_type)
        if where is None:
            continue
        phase, index, schedule = where
        slot = (on, session_type)
        if schedule.scheduled and slot not in booked:
            continue  # by appointment: an unbooked session pays nothing
        outcome = _ended(schedule, facts, on, by_slot.get(slot, ()))
        if outcome is not None:
            found.append(
                made(
                    SessionOutcome,
                    {
                        "on": on,
                        "session_type": session_type,
                        "outcome": outcome[0],
                        "event_id": outcome[1],
                        "phase": phase,
                        "index": index,
                        "booked": slot in booked,
                    },
                )
            )
    return found


def schedule_for(
    spec: ProtocolSpec, facts: EnrollmentFacts, on: date, session_type: str
) -> tuple[int, int, Schedule] | None:
    """The attendance schedule that pays `session_type` on `on`: (phase, index, it)."""
    found = phase_at(spec, facts, on)
    if found is None:
        return None
    for index, schedule in enumerate(found[1].attendance):
        if session_type in schedule.session_types:
            return found[0], index, schedule
    return None


def _ended(
    schedule: Schedule, facts: EnrollmentFacts, on: date, events: Sequence[Fact]
) -> tuple[str, int | None] | None:
    decider = None
    if len(events) == 1:
        decider = events[0]
    elif events:
        decider = min(events, key=lambda e: (_PRECEDENCE.get(e.kind, 9), e.event_id))
    if decider is not None and decider.kind == "attendance":
        late = decider.late and schedule.on_time_minutes is not None
        return ("late" if late else "attended"), decider.event_id
    if not schedule.scheduled:
        return None  # only attendance counts when sessions are not booked
    if decider is not None and decider.kind in ("excused", "missed"):
        return decider.kind, decider.event_id
    closed = facts.closed_through is not None and on <= facts.closed_through
    return ("missed", None) if closed else None


def next_slots(
    spec: ProtocolSpec, facts: EnrollmentFacts, events: Sequence[Fact], as_of: date
) -> dict[int, tuple[date, str]]:
    """Per attendance schedule index, the next session the participant can attend
    from `as_of` (today counts while nothing is recorded for it): the next booked
    session by appointment, else the next of the schedule's `days` (any day)."""
    if not any(phase.attendance for phase in spec.phases):
        return {}  # no attendance schedule to attend
    last = last_day(spec, facts)
    taken = {(e.on, e.session_type) for e in events if e.is_session}
    found: dict[int, tuple[date, str]] = {}
    for booking in sorted(facts.bookings, key=lambda b: (b.on, b.session_type)):
        slot = (booking.on, booking.session_type)
        if not as_of <= booking.on <= last or slot in taken:
            continue
        where = schedule_for(spec, facts, booking.on, booking.session_type)
        if where is not None and where[2].scheduled:
            found.setdefault(where[1], slot)
    for n in range(min(14, (last - as_of).days + 1)):
        on = as_of + timedelta(days=n)
        phase = phase_at(spec, facts, on)
        for index, schedule in enumerate(phase[1].attendance if phase else ()):
            if schedule.scheduled or index in found:
                continue
            if schedule.days and on.weekday() not in schedule.days:
                continue
            free = [t for t in schedule.session_types if (on, t) not in taken]
            if free:
                found[index] = (on, free[0])
    return found
