"""The enrollment calendar: weeks, phases and scheduled test days.

Owns how clinic-local dates map onto a protocol (docs/protocol-spec.md): week 1 is the
start date plus 0..6 days, phases are week ranges, and scheduled specimen days are the
phase's testing weekdays (or the enrollment's override). Imports only the standard
library.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache

from .facts import EnrollmentFacts
from .spec import Phase, ProtocolSpec

# What a protocol's calendar depends on: each phase's weeks, testing days and
# attendance days.
_Shape = tuple[tuple[int, int, tuple[int, ...], tuple[tuple[int, ...], ...]], ...]
# One enrollment's calendar: its protocol's shape (by number, `_shape_number`),
# start, overridden testing days and last day; hashable and cheap to hash.
_Key = tuple[int, date, tuple[tuple[int, tuple[int, ...]], ...], date]
# Every shape seen, one object per equal shape (never dropped: a handful per
# deployment), and by the id of that object, its number. dict.setdefault makes
# two threads meeting a new shape agree on one object.
_SHAPES: dict[_Shape, _Shape] = {}
_SHAPE_OF: dict[int, _Shape] = {}
# id(spec.phases) -> (those phases, their shape's number): the phases are kept,
# so an id in here cannot be another object's.
_PHASES_SEEN: dict[int, tuple[tuple[Phase, ...], int]] = {}


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
    days = _calendar(calendar_key(spec, facts))[0]
    return list(days[bisect_left(days, start) : bisect_right(days, end)])


def next_scheduled_day(
    spec: ProtocolSpec, facts: EnrollmentFacts, after: date
) -> date | None:
    """The first scheduled specimen day after `after` (`scheduled_days` from the
    next day on, its first), if any."""
    days = _calendar(calendar_key(spec, facts))[0]
    found = bisect_right(days, after)
    return days[found] if found < len(days) else None


def session_days(
    spec: ProtocolSpec, facts: EnrollmentFacts, start: date, end: date
) -> list[date]:
    """Days in [start, end] on which the phase in force usually holds a session its
    attendance schedules pay (their `days`): the calendar of an attendance-only
    protocol, which schedules no specimens."""
    days = _calendar(calendar_key(spec, facts))[1]
    return list(days[bisect_left(days, start) : bisect_right(days, end)])


def scheduled_weeks(
    spec: ProtocolSpec, facts: EnrollmentFacts
) -> dict[date, tuple[int, int]]:
    """Every scheduled specimen day of the enrollment -> (its week, its phase index):
    computed once per protocol calendar, start date, testing days and discharge
    (cached; the caller must not change it)."""
    return _calendar(calendar_key(spec, facts))[2]


def calendar_key(spec: ProtocolSpec, facts: EnrollmentFacts) -> _Key:
    """What an enrollment's calendar depends on, hashable: each phase's weeks,
    testing days and attendance days, the start, the testing days the enrollment
    overrides, and the last day (end week or discharge)."""
    overrides = (
        tuple(sorted((i, tuple(d)) for i, d in facts.testing_days.items()))
        if facts.testing_days
        else ()
    )
    return (
        _shape_number(spec.phases),
        facts.start_on,
        overrides,
        last_day(spec, facts),
    )


def _shape_number(phases: tuple[Phase, ...]) -> int:
    """The number of the calendar shape of `phases` (equal shapes, equal numbers)."""
    seen = _PHASES_SEEN.get(id(phases))
    if seen is not None and seen[0] is phases:
        return seen[1]
    shape = tuple(
        (
            phase.weeks_from,
            phase.weeks_to,
            phase.testing_days,
            tuple(schedule.days for schedule in phase.attendance),
        )
        for phase in phases
    )
    shape = _SHAPES.setdefault(shape, shape)
    number = id(shape)
    _SHAPE_OF.setdefault(number, shape)
    if len(_PHASES_SEEN) >= 1024:
        _PHASES_SEEN.clear()
    _PHASES_SEEN[id(phases)] = (phases, number)
    return number


@lru_cache(maxsize=4096)
def _calendar(
    key: _Key,
) -> tuple[tuple[date, ...], tuple[date, ...], dict[date, tuple[int, int]]]:
    """The scheduled specimen days, the session days and the week and phase of
    each scheduled day, from the start to the last day: the loops of
    `scheduled_days` and `session_days` over the whole enrollment, run once."""
    number, start_on, overrides, last = key
    phases = _SHAPE_OF[number]
    testing = dict(overrides)
    tests: list[date] = []
    sessions: list[date] = []
    weeks: dict[date, tuple[int, int]] = {}
    for n in range((last - start_on).days + 1):
        on = start_on + timedelta(days=n)
        week = n // 7 + 1
        found = next((i for i, p in enumerate(phases) if p[0] <= week <= p[1]), None)
        if found is None:
            continue
        weekday = on.weekday()
        if weekday in testing.get(found, phases[found][2]):
            tests.append(on)
            weeks[on] = (week, found)
        if any(weekday in days for days in phases[found][3]):
            sessions.append(on)
    return tuple(tests), tuple(sessions), weeks


def session_type_on(spec: ProtocolSpec, facts: EnrollmentFacts, on: date) -> str | None:
    """The first session type of an attendance schedule held on `on`, if any."""
    found = phase_at(spec, facts, on)
    for schedule in found[1].attendance if found else ():
        if on.weekday() in schedule.days or not schedule.days:
            return schedule.session_types[0]
    return None
