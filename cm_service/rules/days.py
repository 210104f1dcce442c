"""The enrollment calendar: weeks, phases and scheduled test days.

Owns how clinic-local dates map onto a protocol (docs/protocol-spec.md): week 1 is the
start date plus 0..6 days, phases are week ranges, and scheduled specimen days are the
phase's testing weekdays (or the enrollment's override). Imports only the standard
library.
"""

from __future__ import annotations

from datetime import date, timedelta

from .facts import EnrollmentFacts
from .spec import Phase, ProtocolSpec


def week_of(facts: EnrollmentFacts, on: date) -> int:
    """The 1-based enrollment week of `on` (0 or less before the start date)."""
    # Enrollment weeks, not ISO weeks: a Thursday start has Thursday-Wednesday weeks.
    return (on - facts.start_on).days // 7 + 1


def phase_at(
    spec: ProtocolSpec, facts: EnrollmentFacts, on: date
) -> tuple[int, Phase] | None:
    """The (index, phase) in force on `on`, or None outside the protocol's weeks."""
    week = week_of(facts, on)
    for index, phase in enumerate(spec.phases):
        if phase.weeks_from <= week <= phase.weeks_to:
            return index, phase
    return None


def last_day(spec: ProtocolSpec, facts: EnrollmentFacts) -> date:
    """The last day on which the protocol can make an award (end week or discharge)."""
    end = facts.start_on + timedelta(days=7 * spec.end_week - 1)
    return end if facts.ends_on is None else min(end, facts.ends_on)


def testing_days_of(
    facts: EnrollmentFacts, index: int, phase: Phase
) -> tuple[int, ...]:
    """The weekdays (0 = Monday) of scheduled specimens in phase `index`."""
    return tuple(facts.testing_days.get(index, phase.testing_days))


def is_scheduled(spec: ProtocolSpec, facts: EnrollmentFacts, on: date) -> bool:
    """Whether `on` is a scheduled specimen day (in the protocol, before discharge)."""
    found = phase_at(spec, facts, on)
    if found is None or on > last_day(spec, facts):
        return False
    return on.weekday() in testing_days_of(facts, *found)


def scheduled_days(
    spec: ProtocolSpec, facts: EnrollmentFacts, start: date, end: date
) -> list[date]:
    """Scheduled specimen days in [start, end] within the protocol's weeks.

    Days after a discharge (`facts.ends_on`) are not scheduled.
    """
    first = max(start, facts.start_on)
    last = min(end, last_day(spec, facts))
    days = []
    for n in range((last - first).days + 1):
        on = first + timedelta(days=n)
        found = phase_at(spec, facts, on)
        if found is not None and on.weekday() in testing_days_of(facts, *found):
            days.append(on)
    return days


def session_days(
    spec: ProtocolSpec, facts: EnrollmentFacts, start: date, end: date
) -> list[date]:
    """Days in [start, end] on which the phase in force usually holds a session its
    attendance schedules pay (their `days`): the calendar of an attendance-only
    protocol, which schedules no specimens."""
    first = max(start, facts.start_on)
    last = min(end, last_day(spec, facts))
    days = []
    for n in range((last - first).days + 1):
        on = first + timedelta(days=n)
        found = phase_at(spec, facts, on)
        if found is not None and any(
            on.weekday() in schedule.days for schedule in found[1].attendance
        ):
            days.append(on)
    return days


def session_type_on(spec: ProtocolSpec, facts: EnrollmentFacts, on: date) -> str | None:
    """The first session type of an attendance schedule held on `on`, if any."""
    found = phase_at(spec, facts, on)
    for schedule in found[1].attendance if found else ():
        if on.weekday() in schedule.days or not schedule.days:
            return schedule.session_types[0]
    return None
