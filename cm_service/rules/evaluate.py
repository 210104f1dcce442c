"""The fold: a protocol, an enrollment and its events in, every prescribed award out.

Owns `evaluate` (docs/protocol-spec.md "Meaning"): it walks the enrollment's days in
date order, one outcome per day, applies each phase's schedules to the carried-over
escalation state, caps each award in order, and explains every amount in plain
language. It also answers "what would the next negative pay". Imports only the
standard library.

Kept cheap (issue 19, bench/fold.py): the walk holds its state in local variables
(`_Folding.walk`), money is whole cents (Fractions only for draws at expected
value), and awards and days stay tuples until someone reads `Evaluation.awards` or
`.days`; an award's explanation (`why`, `rule`) is made from its record when read.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from .caps import ActiveCaps, CapMeter, Money, active_caps, cap_into
from .days import last_day, next_scheduled_day, week_of
from .draws import expected_value_cents
from .escalation import Streak, after_negative, after_reset, bonus_due, resets
from .facts import EnrollmentFacts, Fact
from .made import Later, made
from .messages import (
    DRAWS,
    N_,
    POINTS_WORTH,
    Cents,
    Day,
    IsoDate,
    Join,
    Msg,
    Ordinal,
    Term,
    english,
    msg,
)
from .money import round_half_up
from .outcomes import DayOutcome, DayRow, day_of, day_rows, targets_of
from .sessions import SessionOutcome, next_slots, session_outcomes
from .spec import ProtocolSpec, Schedule

PENDING = (None, "recollect")
_FIRST = itemgetter(0)
# How a message is made when read: (function, *its arguments).
_Recipe = tuple[Any, ...]


@dataclass(frozen=True)
class Award(Later):
    """One prescribed award. `key` is stable per day (specimen) or per session
    (attendance), so settling again or re-entering a voided day never pays twice.

    The fold leaves `why` as a recipe (`_made_why`): the message is made, like the
    English `rule`, the first time something reads it."""

    key: str
    account: str
    kind: str
    amount: int
    cents: int
    capped_cents: int
    on: date
    event_id: int | None
    schedule: str
    # How the amount is worked out, as a message (rules/messages.py).
    why: Msg

    @cached_property
    def rule(self) -> str:
        """`why` in English, made when first read (the fold builds no text)."""
        return english(self.why)


@dataclass(frozen=True)
class NextNegative(Later):
    """What a negative on the next scheduled test day would pay, caps applied.

    The fold may leave `explanation` (and `why`) to be made when first read."""

    points: int
    draws: int
    cents: int
    bonus_points: int
    bonus_draws: int
    on: date | None
    explanation: str
    # Units kept back to offset an earlier overpayment (rules.after_offset).
    withheld: int = 0
    # `explanation` as a message (rules/messages.py).
    why: Msg | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NextSession:
    """What attending the next session of one attendance schedule would pay."""

    on: date
    session_type: str
    booked: bool
    points: int
    draws: int
    cents: int
    explanation: str
    # The streak of that schedule now (consecutive attended sessions).
    run: int = 0
    withheld: int = 0
    # `explanation` as a message (rules/messages.py).
    why: Msg | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Evaluation(Later):
    """`awards` and `days` are those after `since` (every one when `since` is None:
    an evaluation resumed from a checkpoint lists only what it folded); the run,
    the next negative and the totals always cover the whole enrollment.

    `evaluate` leaves `awards` and `days` as the fold's records, made into Award
    and DayOutcome records the first time something reads them."""

    awards: tuple[Award, ...]
    days: tuple[DayOutcome, ...]
    run: int
    level: int
    longest_run: int
    next_negative: NextNegative
    total_points: int
    total_cents: int
    total_draws: int
    capped_cents: int
    cents_by_year: Mapping[int, int] = field(
        default_factory=lambda: MappingProxyType({})
    )
    since: date | None = None
    # Sessions counted after `since`, and per attendance schedule (by index) what
    # the next session pays: empty for a protocol without attendance.
    sessions: tuple[SessionOutcome, ...] = ()
    next_sessions: tuple[NextSession, ...] = ()
    # Per attendance schedule (by index): sessions attended in a row now.
    session_runs: tuple[int, ...] = ()
    # The level recovery would restore after a reset (None: not recovering).
    saved_level: int | None = None
    # The state after `checkpoint_on`, when `evaluate` was asked for one and could
    # take it (as `fold_awards` does): settling keeps it for the next fold.
    checkpoint: Checkpoint | None = field(default=None, compare=False, repr=False)


def evaluate(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    *,
    as_of: date,
    resume: Checkpoint | None = None,
    checkpoint_on: date | None = None,
) -> Evaluation:
    """Every award the protocol prescribes for `events` up to `as_of`, and the state.

    Pure and deterministic: the same inputs give the same awards, in date order, with
    amounts in points or draws after caps. Events after `as_of`, outside the
    protocol's weeks or after `facts.ends_on` earn nothing. From `resume` (a
    checkpoint before `as_of`) it folds only the dates after it, ignoring events
    on or before it, and gives the same run, next negative and totals. With
    `checkpoint_on`, the same walk also takes the state after that date
    (`Evaluation.checkpoint`, as `fold_awards` would).
    """
    if resume is not None and resume.through >= as_of:
        raise ValueError("A resumed evaluation must start before its as_of date.")
    after = resume.through if resume else None
    if after is not None:
        events = [event for event in events if event.on > after]
    start = _resumed(resume, facts)
    days = day_rows(spec, facts, events, as_of, after=after)
    return evaluate_rows(
        spec,
        facts,
        events,
        days,
        as_of,
        start=start,
        after=after,
        snapshot_on=_wanted(checkpoint_on, as_of, after),
    )


def evaluate_rows(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayRow],
    as_of: date,
    *,
    start: _State | None = None,
    after: date | None = None,
    snapshot_on: date | None = None,
) -> Evaluation:
    """`evaluate` of `events` whose days are `days`, exactly what
    `outcomes.day_rows(spec, facts, events, as_of, after=after)` gives (the
    simulator keeps each token's row instead of classifying it again)."""
    fold, snapshot = _fold(
        spec,
        facts,
        events,
        days,
        as_of,
        start=start,
        after=after,
        snapshot_on=snapshot_on,
    )
    return made(
        Evaluation,
        {
            "_awards": fold.awards,
            "_days": days,
            "run": fold.run,
            "level": fold.level,
            "saved_level": fold.saved,
            "longest_run": fold.longest,
            "next_negative": _next_negative(
                spec, facts, events, days, as_of, start=start, after=after
            ),
            "total_points": fold.points,
            "total_cents": fold.cents,
            "total_draws": fold.draws,
            "capped_cents": fold.capped,
            "cents_by_year": MappingProxyType(fold.by_year),
            "since": after,
            "sessions": tuple(fold.held),
            "next_sessions": _next_sessions(
                spec, facts, events, days, as_of, fold, start=start, after=after
            ),
            "session_runs": (
                tuple(streak.run for streak in fold.sessions) if fold.sessions else ()
            ),
            "checkpoint": (
                None
                if snapshot_on is None or snapshot is None
                else Checkpoint(snapshot_on, snapshot)
            ),
        },
    )


def fold_totals(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayRow],
    as_of: date,
) -> tuple[int, int]:
    """`evaluate_rows(...)`'s total_cents and total_draws, folded without the rest
    (next negative, sessions to come): what a cohort's cost needs."""
    fold, _ = _fold(spec, facts, events, days, as_of)
    return fold.cents, fold.draws


@dataclass(frozen=True)
class Checkpoint:
    """The fold's state after every date up to `through`. Folding on from it gives
    exactly what a fold from the first day would (tested), so settling can fold only
    the days since. Whoever keeps one must drop it when any input up to `through`
    changes (a back-dated event, a void, an exemption, other enrollments' payments)."""

    through: date
    state: _State


@dataclass(frozen=True)
class Folded:
    """Awards for the dates after `resume.through` (every date without a resume point)
    and the checkpoint asked for, if it could be taken."""

    awards: tuple[Award, ...]
    checkpoint: Checkpoint | None


def fold_awards(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    *,
    as_of: date,
    resume: Checkpoint | None = None,
    checkpoint_on: date | None = None,
) -> Folded:
    """The awards `evaluate` prescribes, folding only the dates after `resume.through`
    when given (events on or before it are ignored), and the state after
    `checkpoint_on` when that date is not before the resume point."""
    after = resume.through if resume else None
    if after is not None:
        events = [event for event in events if event.on > after]
    start = _resumed(resume, facts)
    wanted = _wanted(checkpoint_on, as_of, after)
    days = day_rows(spec, facts, events, as_of, after=after)
    fold, snapshot = _fold(
        spec, facts, events, days, as_of, start=start, after=after, snapshot_on=wanted
    )
    taken = None if wanted is None or snapshot is None else Checkpoint(wanted, snapshot)
    return Folded(tuple(_award_of(record) for record in fold.awards), taken)


def _wanted(checkpoint_on: date | None, as_of: date, after: date | None) -> date | None:
    """The checkpoint date a fold can take: none beyond what is folded, or older
    than the resume point."""
    if checkpoint_on is None or checkpoint_on > as_of:
        return None
    if after is not None and after > checkpoint_on:
        return None
    return checkpoint_on


def _resumed(resume: Checkpoint | None, facts: EnrollmentFacts) -> _State | None:
    if resume is None:
        return None
    # The caps' calendar-year window counts the other enrollments' payments as
    # they are now (the keeper's fingerprint makes sure they have not changed).
    meter = replace(resume.state.meter, **meter_facts(facts))
    return replace(resume.state, meter=meter)


@dataclass(frozen=True)
class _Totals:
    """What the awards folded so far add up to."""

    points: int = 0
    cents: int = 0
    draws: int = 0
    capped_cents: int = 0
    cents_by_year: Mapping[int, int] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class _WeekTally:
    """The enrollment week being folded, for per-week escalation."""

    week: int
    phase: int
    clean: bool = True
    negatives: int = 0


@dataclass(frozen=True)
class _State:
    meter: CapMeter
    streak: Streak = Streak()
    # One streak per attendance schedule of a phase (by its index in the list).
    sessions: tuple[Streak, ...] = ()
    tally: _WeekTally | None = None
    totals: _Totals = _Totals()


def meter_facts(facts: EnrollmentFacts) -> dict[str, Any]:
    """What the cap meter is told about the enrollment: other enrollments'
    payments and the funding programs' caps."""
    return {
        "year_paid_cents": facts.year_paid_cents,
        "programs": facts.programs,
        "paid_elsewhere": facts.program_paid_cents,
    }


def _meter(facts: EnrollmentFacts) -> CapMeter:
    """The cap meter of the enrollment's first day, `CapMeter(**meter_facts(facts))`,
    made without its __init__."""
    return made(
        CapMeter,
        {
            "used": _NO_WINDOWS,
            "year_paid_cents": facts.year_paid_cents,
            "programs": facts.programs,
            "paid_elsewhere": facts.program_paid_cents,
        },
    )


_NO_WINDOWS: Mapping[Hashable, Money] = MappingProxyType({})


def _fold(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayRow],
    as_of: date,
    *,
    start: _State | None = None,
    after: date | None = None,
    snapshot_on: date | None = None,
) -> tuple[_Folding, _State | None]:
    """Fold `days` and the sessions after `after` from `start` (the state after
    `after`; the enrollment's first day without it); also return the state after
    every date <= `snapshot_on`."""
    sessions = session_outcomes(spec, facts, events, as_of, after=after)
    fold = _Folding(spec, start, facts)
    fold.held = sessions
    # Caps apply to awards in date order across schedules (the spec), so both walk
    # the same calendar: a day's specimen first, then its sessions by event id.
    walk: Iterable[tuple[date, DayRow | None, Sequence[SessionOutcome]]]
    if sessions:
        walk = _calendar(days, sessions)
    else:
        # (date, day, no sessions) for each day, made in C.
        walk = zip(map(_FIRST, days), days, repeat(()))
    snapshot = fold.walk(walk, facts.start_on, snapshot_on)
    if snapshot_on is not None and snapshot is None:
        snapshot = fold.state()
    fold.close_week(week_of(facts, as_of))
    return fold, snapshot


def _calendar(
    days: Sequence[DayRow], sessions: Sequence[SessionOutcome]
) -> list[tuple[date, DayRow | None, list[SessionOutcome]]]:
    """Each date with its day and its sessions (in their order), by date."""
    by_day = {day[0]: day for day in days}
    held: dict[date, list[SessionOutcome]] = {}
    for session in sessions:
        held.setdefault(session.on, []).append(session)
    return [
        (on, by_day.get(on), held.get(on, []))
        for on in sorted(by_day.keys() | held.keys())
    ]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the fold reads of a phase's specimen schedule, worked out once per
    protocol: `Schedule.value`'s terms, escalation, and money per unit for the
    protocol's caps and a funding program's (`capped`: the protocol's can
    apply)."""

    escalates: bool
    per_test: bool
    per_week: bool
    start: int
    step: int
    max: int | None
    amount: int
    recovery_after: int | None
    draws: bool
    unit: Money | None
    program_unit: Money | None
    capped: bool


# id(spec) -> (that spec, (a plan per phase, None without a specimen schedule;
# the protocol's caps that bind, caps.active_caps)).
_PLANS: dict[int, tuple[ProtocolSpec, tuple[tuple[_Plan | None, ...], ActiveCaps]]] = {}


def _specimen_plans(
    spec: ProtocolSpec,
) -> tuple[tuple[_Plan | None, ...], ActiveCaps]:
    found = _PLANS.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    active = active_caps(spec.caps)
    plans: list[_Plan | None] = []
    for phase in spec.phases:
        schedule = phase.specimen
        if schedule is None:
            plans.append(None)
            continue
        unit, program_unit = _units(spec, schedule)
        plans.append(
            _Plan(
                escalates=schedule.escalates,
                per_test=schedule.escalates and schedule.per == "test",
                per_week=schedule.escalates and schedule.per == "week",
                start=schedule.start,
                step=schedule.step,
                max=schedule.max,
                amount=schedule.amount,
                recovery_after=schedule.recovery_after,
                draws=schedule.account == "draws",
                unit=unit,
                program_unit=program_unit,
                capped=bool(unit and active),
            )
        )
    if len(_PLANS) >= 256:
        _PLANS.clear()
    # The spec is kept with its id, so the id cannot be another object's.
    found = _PLANS[id(spec)] = (spec, (tuple(plans), active))
    return found[1]


# (id(spec), id(schedule)) -> (spec, schedule, its units): both kept, so neither
# id can be another object's.
_UNITS: dict[
    tuple[int, int],
    tuple[ProtocolSpec, Schedule, tuple[Money | None, Money | None]],
] = {}


def _units(spec: ProtocolSpec, schedule: Schedule) -> tuple[Money | None, Money | None]:
    """Money per unit of a schedule's awards for the protocol's caps and for a
    funding program's (worked out once per protocol and schedule)."""
    found = _UNITS.get((id(spec), id(schedule)))
    if found is not None and found[0] is spec and found[1] is schedule:
        return found[2]
    if len(_UNITS) >= 1024:
        _UNITS.clear()
    units = _UNITS[(id(spec), id(schedule))] = (
        spec,
        schedule,
        _units_of(spec, schedule),
    )
    return units[2]


def _units_of(
    spec: ProtocolSpec, schedule: Schedule
) -> tuple[Money | None, Money | None]:
    unit = _unit_cents(spec, schedule)
    # A funding program counts a draw at its expected value (docs/funding.md).
    program_unit = (
        expected_value_cents(schedule.bowl)
        if schedule.account == "draws" and schedule.bowl
        else unit
    )
    return unit, program_unit


class _Folding:
    """The fold's state while it walks (docs/protocol-spec.md "Meaning"): the same
    state as `_State`, held in plain mutable fields so a step changes numbers
    instead of copying frozen records. `state()` gives the frozen `_State`."""

    def __init__(
        self, spec: ProtocolSpec, state: _State | None, facts: EnrollmentFacts
    ) -> None:
        self.spec = spec
        self.active = _specimen_plans(spec)[1]
        # The awards folded, as records (`_award_of` makes the Award).
        self.awards: list[_AwardRecord] = []
        # The sessions folded (session_outcomes), for Evaluation.sessions.
        self.held: list[SessionOutcome] = []
        self.units: dict[int, tuple[Money | None, Money | None, bool]] = {}
        if state is None:  # the enrollment's first day: `_State(meter=_meter(facts))`
            self.meter = _meter(facts)
            self.used: dict[Hashable, Money] = {}
            self.level = self.run = self.since = self.longest = 0
            self.saved: int | None = None
            self.sessions: list[Streak] = []
            self.tally: list[Any] | None = None
            self.points = self.cents = self.draws = self.capped = 0
            self.by_year: dict[int, int] = {}
            return
        self.meter = state.meter
        self.used = dict(state.meter.used)
        streak = state.streak
        self.level, self.run, self.saved = streak.level, streak.run, streak.saved
        self.since, self.longest = streak.since_reset, streak.longest
        self.sessions = list(state.sessions)
        tally = state.tally
        self.tally = (
            None
            if tally is None
            else [tally.week, tally.phase, tally.clean, tally.negatives]
        )
        totals = state.totals
        self.points, self.cents, self.draws = totals.points, totals.cents, totals.draws
        self.capped = totals.capped_cents
        self.by_year = dict(totals.cents_by_year)

    @property
    def streak(self) -> Streak:
        return Streak(self.level, self.run, self.saved, self.since, self.longest)

    def state(self) -> _State:
        tally = self.tally
        return _State(
            meter=replace(self.meter, used=MappingProxyType(dict(self.used))),
            streak=self.streak,
            sessions=tuple(self.sessions),
            tally=None if tally is None else _WeekTally(*tally),
            totals=_Totals(
                self.points,
                self.cents,
                self.draws,
                self.capped,
                MappingProxyType(dict(self.by_year)),
            ),
        )

    def close_week(self, week: int) -> None:
        """Close the tallied week once the fold is past it (per-week escalation)."""
        tally = self.tally
        if tally is None or tally[0] >= week:
            return
        if tally[2] and tally[3]:
            plan = _specimen_plans(self.spec)[0][tally[1]]
            if plan is not None and plan.per_week:
                self.level += 1  # escalation.after_clean_week
        self.tally = None

    def walk(
        self,
        dated: Iterable[tuple[date, DayRow | None, Sequence[SessionOutcome]]],
        start_on: date,
        snapshot_on: date | None,
    ) -> _State | None:
        """Fold each date's day, then its sessions; return the state before the
        first date after `snapshot_on` (None if there is none).

        The hot loop: the specimen streak, the week's tally and the totals of
        specimen awards live in local variables (written back to the fold for a
        snapshot and at the end); a day's award is capped and recorded inline.
        """
        spec = self.spec
        phases = spec.phases
        plans = _specimen_plans(spec)[0]
        _named = _NAMED
        programs = bool(self.meter.programs)
        unit_cents = spec.unit_cents
        reset_only = spec.extra_tests == "reset_only"
        crossing = spec.caps.crossing
        active, meter, used = self.active, self.meter, self.used
        awards, by_year = self.awards, self.by_year
        level, run, saved = self.level, self.run, self.saved
        since, longest = self.since, self.longest
        tally = self.tally
        points = cents = draws = capped = 0
        snapshot = None
        for on, day, held in dated:
            if snapshot_on is not None and snapshot is None and on > snapshot_on:
                self.level, self.run, self.saved = level, run, saved
                self.since, self.longest, self.tally = since, longest, tally
                self.points += points
                self.cents += cents
                self.draws += draws
                self.capped += capped
                points = cents = draws = capped = 0
                snapshot = self.state()
            if tally is not None:
                # Close the tallied week once the fold is past it (per-week
                # escalation: escalation.after_clean_week). A day's row has
                # its week; a date with sessions only is worked out (week_of).
                week = day[4] if day is not None else (on - start_on).days // 7 + 1
                if tally[0] < week:
                    if tally[2] and tally[3]:
                        plan = plans[tally[1]]
                        if plan is not None and plan.per_week:
                            level += 1
                    tally = None
            if day is not None:
                _, scheduled, outcome, event_id, week, phase = day
                schedule = phases[phase].specimen
                plan = plans[phase]
                # Coming in more often must not speed up escalation (spec:
                # extra_tests): an extra negative neither pays nor advances; a
                # lapse still resets.
                extra = not scheduled and reset_only
                lapse = (
                    extra
                    and outcome in ("positive", "refused")
                    and resets(schedule, outcome)
                )
                if not extra or lapse:
                    # The week's tally: clean while every folded day is negative
                    # or excused (REAP: "continuous weeks of negative screens");
                    # a day still unrecorded when the week closes is not.
                    if tally is None or tally[0] != week:
                        tally = [week, phase, True, 0]
                    tally[2] = tally[2] and outcome in ("negative", "excused")
                    tally[3] += outcome == "negative"
                if extra:
                    if lapse:
                        saved = level if saved is None or level > saved else saved
                        level = run = since = 0  # escalation.after_reset
                elif outcome == "negative":
                    # escalation.after_negative: per-test schedules advance the
                    # level; during recovery reaching `recovery_after` negatives
                    # restores the saved level (the next one is paid at it).
                    before, before_run = level, run
                    run += 1
                    if run > longest:
                        longest = run
                    restored = None
                    if plan is not None and plan.per_test:
                        level += 1
                    if saved is not None:
                        since += 1
                        needed = plan.recovery_after if plan is not None else None
                        if needed is not None and since >= needed:
                            if saved > level:
                                level = restored = saved  # a real raise is news
                            saved = None
                    if plan is not None and schedule is not None:
                        named = _named.get(on)
                        if named is None:
                            named = _specimen_names(on)
                        iso, group, key = named
                        if plan.escalates:  # Schedule.value
                            amount = plan.start + plan.step * before
                            if plan.max is not None and amount > plan.max:
                                amount = plan.max
                        else:
                            amount = plan.amount
                        if amount > 0:
                            unit, program_unit = plan.unit, plan.program_unit
                            paid, withheld, note = amount, 0, None
                            if plan.capped or (programs and program_unit):
                                paid, money, note, _ = cap_into(
                                    crossing,
                                    active,
                                    meter,
                                    used,
                                    on,
                                    group,
                                    amount,
                                    unit,
                                    "draws" if plan.draws else "points",
                                    program_unit,
                                )
                                withheld = (
                                    money
                                    if type(money) is int
                                    else round_half_up(money)
                                )
                            if plan.draws:
                                account, cents_paid = "draws", 0
                                draws += paid
                            else:
                                account, cents_paid = "points", paid * unit_cents
                                points += paid
                            cents += cents_paid
                            capped += withheld
                            by_year[on.year] = by_year.get(on.year, 0) + cents_paid
                            why: _Recipe = (
                                _specimen_why,
                                spec,
                                schedule,
                                before,
                                before_run,
                                scheduled,
                                restored,
                            )
                            awards.append(
                                (
                                    key,
                                    account,
                                    "award",
                                    paid,
                                    cents_paid,
                                    withheld,
                                    on,
                                    event_id,
                                    "specimen",
                                    why,
                                    note,
                                )
                            )
                        bonus = schedule.bonus
                        if bonus is not None and (before_run + 1) % bonus.every == 0:
                            why = (
                                _bonus_why,
                                spec,
                                schedule,
                                bonus.amount,
                                before_run,
                                False,
                            )
                            self.pay(
                                schedule,
                                f"bonus:{iso}",
                                "bonus",
                                bonus.amount,
                                why,
                                on,
                                event_id,
                                "specimen",
                                group,
                            )
                elif resets(schedule, outcome):
                    saved = level if saved is None or level > saved else saved
                    level = run = since = 0  # escalation.after_reset
            for session in held:
                self.session(session)
        self.level, self.run, self.saved = level, run, saved
        self.since, self.longest, self.tally = since, longest, tally
        self.points += points
        self.cents += cents
        self.draws += draws
        self.capped += capped
        return snapshot

    def session(self, session: SessionOutcome) -> None:
        spec = self.spec
        schedule = spec.phases[session.phase].attendance[session.index]
        index = session.index
        before = session_streak(self.sessions, index)
        if session.outcome != "attended":
            # Late and missed reset only when the schedule says so (spec
            # `reset_on`); an excused session neither breaks nor extends the run.
            if session.outcome != "excused" and resets(schedule, session.outcome):
                self._with_streak(index, after_reset(before))
            return
        # One award per clinic-local day and session type: a session entered twice
        # (or re-entered after a void) maps to the award already posted.
        iso = session.on.isoformat()
        slot = f"{iso}:{session.session_type}"
        step = after_negative(schedule, before)
        key = f"attendance:{slot}"
        group = ("attendance", iso, session.session_type)  # test_group(key)
        why: _Recipe = (
            _session_why,
            spec,
            schedule,
            before.level,
            before.run,
            session.session_type,
            step.restored_to,
        )
        amount = schedule.value(before.level)
        on, event_id = session.on, session.event_id
        self.pay(schedule, key, "award", amount, why, on, event_id, "attendance", group)
        if schedule.bonus is not None and bonus_due(schedule, before):
            why = (_bonus_why, spec, schedule, schedule.bonus.amount, before.run, True)
            self.pay(
                schedule,
                f"attendance-bonus:{slot}",
                "bonus",
                schedule.bonus.amount,
                why,
                on,
                event_id,
                "attendance",
                group,
            )
        self._with_streak(index, step.streak)

    def _with_streak(self, index: int, streak: Streak) -> None:
        streaks = self.sessions
        streaks += [Streak()] * (index + 1 - len(streaks))
        streaks[index] = streak

    def pay(
        self,
        schedule: Schedule,
        key: str,
        kind: str,
        amount: int,
        why: _Recipe,
        on: date,
        event_id: int | None,
        where: str,
        group: Hashable,
    ) -> None:
        """Cap an offered award and add it (nothing for an offer of nothing)."""
        if amount <= 0:
            return
        units = self.units.get(id(schedule))
        if units is None:
            units = self.units[id(schedule)] = self._units(schedule)
        unit, program_unit, capped = units
        paid, withheld, note = amount, 0, None
        if capped:
            paid, money, note, _ = cap_into(
                self.spec.caps.crossing,
                self.active,
                self.meter,
                self.used,
                on,
                group,
                amount,
                unit,
                schedule.account,
                program_unit,
            )
            withheld = round_half_up(money)
        if schedule.type == "prize_draws":
            account, money = "draws", 0
            self.draws += paid
        else:
            account, money = "points", paid * self.spec.unit_cents
            self.points += paid
        self.cents += money
        self.capped += withheld
        self.by_year[on.year] = self.by_year.get(on.year, 0) + money
        self.awards.append(
            (key, account, kind, paid, money, withheld, on, event_id, where, why, note)
        )

    def _units(self, schedule: Schedule) -> tuple[Money | None, Money | None, bool]:
        """Money per unit for the protocol's caps and for a funding program's, and
        whether any cap can apply to this schedule's awards."""
        unit, program_unit = _units(self.spec, schedule)
        capped = bool(unit and self.active) or bool(
            program_unit and self.meter.programs
        )
        return unit, program_unit, capped


# A test day's names: its ISO date, its per-test cap group (test_group) and its
# award key, made once per date.
_NAMED: dict[date, tuple[str, tuple[str, str], str]] = {}


def _specimen_names(on: date) -> tuple[str, tuple[str, str], str]:
    iso = on.isoformat()
    if len(_NAMED) >= 100_000:
        _NAMED.clear()
    named = _NAMED[on] = (iso, ("specimen", iso), f"specimen:{iso}")
    return named


def session_streak(sessions: Sequence[Streak], index: int) -> Streak:
    """The streak of attendance schedule `index` (carried over phases by index)."""
    return sessions[index] if index < len(sessions) else Streak()


def test_group(key: str) -> Hashable:
    """The per-test cap window of an award key: the test day for a specimen and its
    bonus, the day and session type for attendance (keys in docs/protocol-spec.md)."""
    kind, _, rest = key.partition(":")
    on, _, session_type = rest.partition(":")
    if kind in ("specimen", "bonus"):
        return ("specimen", on)
    return ("attendance", on, session_type)


def _specimen_why(
    spec: ProtocolSpec,
    schedule: Schedule,
    level: int,
    run: int,
    scheduled: bool,
    restored_to: int | None,
) -> Msg:
    """How a negative's award is worked out, from the streak before it."""
    before = Streak(level, run)
    what = NEGATIVE_TEST if not schedule.escalates else _consecutive(schedule, before)
    if not scheduled:
        what = Msg(N_("%(what)s (extra test)"), (("what", what),))
    rule = Msg(
        N_("%(what)s: %(amount)s"),
        (("what", what), ("amount", _formula(spec, schedule, level))),
    )
    if restored_to is not None:
        rule = msg(
            N_(
                "%(award)s. Level restored to %(level)s after %(count)s negatives"
                " since the reset"
            ),
            award=rule,
            level=restored_to,
            count=schedule.recovery_after,
        )
    return rule


def _session_why(
    spec: ProtocolSpec,
    schedule: Schedule,
    level: int,
    run: int,
    session_type: str,
    restored_to: int | None,
) -> Msg:
    """How an attended session's award is worked out, from the streak before it."""
    what = Msg(
        N_("%(nth)s attended %(session)s session"),
        (
            ("nth", Ordinal(run + 1)),
            ("session", Term("session type", session_type)),
        ),
    )
    rule = Msg(
        N_("%(what)s: %(amount)s"),
        (("what", what), ("amount", _formula(spec, schedule, level))),
    )
    if restored_to is not None:
        rule = msg(
            N_(
                "%(award)s. Level restored to %(level)s after %(count)s sessions"
                " since the reset"
            ),
            award=rule,
            level=restored_to,
            count=schedule.recovery_after,
        )
    return rule


def _bonus_why(
    spec: ProtocolSpec, schedule: Schedule, amount: int, run: int, session: bool
) -> Msg:
    """A bonus paid with the negative (or session) that makes the run `run + 1`."""
    if session:
        text = msg(N_("Bonus for %(count)s attended sessions in a row"), count=run + 1)
    else:
        text = msg(N_("Bonus for %(count)s negatives in a row"), count=run + 1)
    return Msg(
        N_("%(what)s: %(amount)s"),
        (("what", text), ("amount", _amount_text(spec, schedule, amount))),
    )


def _made_why(award: Award) -> Msg:
    """`Award.why` from the recipe the fold left, and the caps' note if any."""
    recipe, note = award.__dict__["_why"]
    why: Msg = recipe[0](*recipe[1:])
    if note:
        return Msg(N_("%(rule)s; %(note)s"), (("rule", why), ("note", note)))
    return why


Award._later = {"why": _made_why}

# An award as the fold records it: (key, account, kind, amount, cents,
# capped_cents, on, event_id, schedule, why recipe, caps note).
_AwardRecord = tuple[
    str, str, str, int, int, int, date, int | None, str, _Recipe, Msg | None
]


def _award_of(record: _AwardRecord) -> Award:
    """The Award of a fold's record (its `why` still made when read)."""
    key, account, kind, amount, cents, capped, on, event_id, where, why, note = record
    return made(
        Award,
        {
            "key": key,
            "account": account,
            "kind": kind,
            "amount": amount,
            "cents": cents,
            "capped_cents": capped,
            "on": on,
            "event_id": event_id,
            "schedule": where,
            "_why": (why, note),
        },
    )


def _evaluation_awards(evaluation: Evaluation) -> tuple[Award, ...]:
    return tuple(_award_of(record) for record in evaluation.__dict__["_awards"])


def _evaluation_days(evaluation: Evaluation) -> tuple[DayOutcome, ...]:
    return tuple(day_of(row) for row in evaluation.__dict__["_days"])


Evaluation._later = {"awards": _evaluation_awards, "days": _evaluation_days}


def with_next(
    evaluation: Evaluation,
    next_negative: NextNegative,
    next_sessions: tuple[NextSession, ...],
) -> Evaluation:
    """`evaluation` saying what the next negative and sessions pay instead.
    Unlike `dataclasses.replace`, which reads every field, it leaves the award and
    day records unmade (for a fold from day one, most of what reconciling costs)."""
    fields = {**evaluation.__dict__, "next_negative": next_negative}
    return made(Evaluation, {**fields, "next_sessions": next_sessions})


NEGATIVE_TEST = Msg(N_("Negative test"))


def _consecutive(schedule: Schedule, before: Streak) -> Msg:
    nth = ("nth", Ordinal(before.run + 1))
    if schedule.per == "week":  # the level counts clean weeks, not tests
        return Msg(
            N_("%(nth)s consecutive negative, week level %(level)s"),
            (nth, ("level", before.level)),
        )
    if before.level == before.run:
        return Msg(N_("%(nth)s consecutive negative"), (nth,))
    return Msg(
        N_("%(nth)s consecutive negative, level %(level)s"),
        (nth, ("level", before.level)),
    )


def _formula(spec: ProtocolSpec, schedule: Schedule, level: int) -> Msg:
    """How the value at `level` is computed, e.g. "10 + 2×5 = 20 points ($5.00)"."""
    value = schedule.value(level)
    amount = _amount_text(spec, schedule, value)
    if not schedule.escalates:
        return amount
    if level == 0:
        return Msg(N_("the starting value, %(amount)s"), (("amount", amount),))
    if (
        schedule.max is not None
        and schedule.start + schedule.step * level > schedule.max
    ):
        return Msg(N_("the maximum, %(amount)s"), (("amount", amount),))
    return Msg(
        N_("%(start)s + %(level)s×%(step)s = %(amount)s"),
        (
            ("start", schedule.start),
            ("level", level),
            ("step", schedule.step),
            ("amount", amount),
        ),
    )


def _amount_text(spec: ProtocolSpec, schedule: Schedule, amount: int) -> Msg:
    if schedule.account == "draws":
        return Msg(DRAWS[0], (("num", amount),), DRAWS[1])
    return Msg(
        POINTS_WORTH[0],
        (("num", amount), ("money", Cents(amount * spec.unit_cents))),
        POINTS_WORTH[1],
    )


def _unit_cents(spec: ProtocolSpec, schedule: Schedule) -> Money | None:
    """Money per unit for the caps; draws count only at their exact expected value
    and only when the protocol asks (spec: count_draws_at_expected_value)."""
    if schedule.account == "points":
        return spec.unit_cents
    if spec.caps.count_draws_at_expected_value:
        return expected_value_cents(schedule.bowl)
    return None


def _next_negative(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayRow],
    as_of: date,
    *,
    start: _State | None = None,
    after: date | None = None,
) -> NextNegative:
    """Fold again with a negative on the next test day: the very same arithmetic
    (from `start`, the state after `after`, when resumed)."""
    on = _next_test_day(spec, facts, days, as_of)
    if on is None:
        fields = dict(_NOTHING, why=_ended(spec, facts))
        return made(NextNegative, fields)  # `explanation` made when read
    # The probe is an ordinary fact: caps, week closes and recovery all apply to
    # it exactly as they will to the real specimen.
    probe = Fact(-1, "specimen", on, dict.fromkeys(targets_of(spec, facts), "negative"))
    kept = [event for event in events if event.on <= as_of]
    probe_days = day_rows(spec, facts, [*kept, probe], on, after=after)
    fold, _ = _fold(
        spec, facts, [*kept, probe], probe_days, on, start=start, after=after
    )
    paid = [_award_of(r) for r in fold.awards if r[6] == on and r[8] == "specimen"]
    return _summarise(paid, on)


def _next_sessions(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayRow],
    as_of: date,
    now: _Folding,
    *,
    start: _State | None = None,
    after: date | None = None,
) -> tuple[NextSession, ...]:
    """Fold again with each schedule's next session attended: the same arithmetic
    as the real check-in, one probe per attendance schedule."""
    if not any(phase.attendance for phase in spec.phases):
        return ()  # no attendance schedule: next_slots finds none
    kept = [event for event in events if event.on <= as_of]
    found = []
    for index, (on, session_type) in sorted(
        next_slots(spec, facts, kept, as_of).items()
    ):
        probe = Fact(-1, "attendance", on, session_type=session_type)
        probe_days = day_rows(spec, facts, kept, on, after=after)
        fold, _ = _fold(
            spec, facts, [*kept, probe], probe_days, on, start=start, after=after
        )
        paid = [
            _award_of(r) for r in fold.awards if r[6] == on and r[8] == "attendance"
        ]
        paid = [a for a in paid if a.key.endswith(f":{on.isoformat()}:{session_type}")]
        booked = any(
            b.on == on and b.session_type == session_type for b in facts.bookings
        )
        found.append(
            _session_summary(
                paid, on, session_type, booked, session_streak(now.sessions, index).run
            )
        )
    return tuple(found)


def _session_summary(
    paid: Sequence[Award], on: date, session_type: str, booked: bool, run: int
) -> NextSession:
    named = {"session": Term("session type", session_type), "day": Day(on)}
    why = msg(N_("Attending the %(session)s session on %(day)s earns nothing."), named)
    if paid:
        rules = Join("semicolon", tuple(a.why for a in paid))
        why = msg(
            N_("Attending the %(session)s session on %(day)s: %(rules)s."),
            named,
            rules=rules,
        )
    return NextSession(
        on=on,
        session_type=session_type,
        booked=booked,
        points=sum(a.amount for a in paid if a.account == "points"),
        draws=sum(a.amount for a in paid if a.account == "draws"),
        cents=sum(a.cents for a in paid),
        explanation=english(why),
        run=run,
        why=why,
    )


def _ended(spec: ProtocolSpec, facts: EnrollmentFacts) -> Msg:
    end = last_day(spec, facts)
    if facts.ends_on is not None and end == facts.ends_on:
        return msg(N_("No further awards: discharged on %(day)s."), day=IsoDate(end))
    return Msg(N_("No further awards: the protocol has ended."))


def _next_test_day(
    spec: ProtocolSpec, facts: EnrollmentFacts, days: Sequence[DayRow], as_of: date
) -> date | None:
    # Today's scheduled test counts while it is still undecided (nothing recorded
    # yet, or a recollection pending): that is the test the participant faces next.
    # The rows are in date order up to as_of, one per date: today's is the last.
    today = days[-1] if days and days[-1][0] == as_of and days[-1][1] else None
    if today is not None and today[2] in PENDING:
        return as_of
    return next_scheduled_day(spec, facts, as_of)


def _summarise(paid: Sequence[Award], on: date) -> NextNegative:
    def total(account: str, kind: str) -> int:
        return sum(a.amount for a in paid if a.account == account and a.kind == kind)

    # `explanation` is made when read; `why` now (it has a default, so it cannot
    # be left out), its awards' messages when it is read.
    return made(
        NextNegative,
        {
            "points": total("points", "award"),
            "draws": total("draws", "award"),
            "cents": sum(a.cents for a in paid),
            "bonus_points": total("points", "bonus"),
            "bonus_draws": total("draws", "bonus"),
            "on": on,
            "withheld": 0,
            "why": _summary_why(paid, on),
        },
    )


def _summary_why(paid: Sequence[Award], on: date) -> Msg:
    """What a negative on `on` pays, award by award."""
    why = msg(N_("A negative on %(day)s earns nothing in this phase."), day=Day(on))
    if paid:
        rules = Join("semicolon", tuple(a.why for a in paid))
        why = msg(N_("A negative on %(day)s: %(rules)s."), day=Day(on), rules=rules)
    return why


def _explanation(nxt: NextNegative) -> str:
    return english(nxt.why)


NextNegative._later = {"explanation": _explanation}
# The fields of a next negative that pays nothing (`why` says why).
_NOTHING = {
    "points": 0,
    "draws": 0,
    "cents": 0,
    "bonus_points": 0,
    "bonus_draws": 0,
    "on": None,
    "withheld": 0,
}
