"""The fold: a protocol, an enrollment and its events in, every prescribed award out.

Owns `evaluate` (docs/protocol-spec.md "Meaning"): it walks the enrollment's days in
date order, one outcome per day, applies each phase's schedules to the carried-over
escalation state, caps each award in order, and explains every amount in plain
language. It also answers "what would the next negative pay". Imports only the
standard library.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any

from .caps import CapMeter, Cut, apply_caps
from .days import last_day, scheduled_days, week_of
from .draws import expected_value_cents
from .escalation import (
    Step,
    Streak,
    after_clean_week,
    after_negative,
    after_reset,
    bonus_due,
    resets,
)
from .facts import EnrollmentFacts, Fact
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
from .outcomes import DayOutcome, day_outcomes, targets_of
from .sessions import SessionOutcome, next_slots, session_outcomes
from .spec import ProtocolSpec, Schedule

PENDING = (None, "recollect")


@dataclass(frozen=True)
class Award:
    """One prescribed award. `key` is stable per day (specimen) or per session
    (attendance), so settling again or re-entering a voided day never pays twice."""

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
class NextNegative:
    """What a negative on the next scheduled test day would pay, caps applied."""

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
class Evaluation:
    """`awards` and `days` are those after `since` (every one when `since` is None:
    an evaluation resumed from a checkpoint lists only what it folded); the run,
    the next negative and the totals always cover the whole enrollment."""

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


def evaluate(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    *,
    as_of: date,
    resume: Checkpoint | None = None,
) -> Evaluation:
    """Every award the protocol prescribes for `events` up to `as_of`, and the state.

    Pure and deterministic: the same inputs give the same awards, in date order, with
    amounts in points or draws after caps. Events after `as_of`, outside the
    protocol's weeks or after `facts.ends_on` earn nothing. From `resume` (a
    checkpoint before `as_of`) it folds only the dates after it, ignoring events
    on or before it, and gives the same run, next negative and totals.
    """
    if resume is not None and resume.through >= as_of:
        raise ValueError("A resumed evaluation must start before its as_of date.")
    after = resume.through if resume else None
    if after is not None:
        events = [event for event in events if event.on > after]
    start = _resumed(resume, facts)
    days = day_outcomes(spec, facts, events, as_of, after=after)
    state, awards, _ = _fold(spec, facts, events, days, as_of, start=start, after=after)
    totals = state.totals
    return Evaluation(
        awards=tuple(awards),
        days=tuple(days),
        run=state.streak.run,
        level=state.streak.level,
        longest_run=state.streak.longest,
        next_negative=_next_negative(
            spec, facts, events, days, as_of, start=start, after=after
        ),
        total_points=totals.points,
        total_cents=totals.cents,
        total_draws=totals.draws,
        capped_cents=totals.capped_cents,
        cents_by_year=totals.cents_by_year,
        since=after,
        sessions=tuple(session_outcomes(spec, facts, events, as_of, after=after)),
        next_sessions=_next_sessions(
            spec, facts, events, days, as_of, state, start=start, after=after
        ),
        session_runs=tuple(streak.run for streak in state.sessions),
    )


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
    wanted = checkpoint_on
    if wanted is not None and (wanted > as_of or (after or wanted) > wanted):
        wanted = None  # beyond what is folded, or older than the resume point
    days = day_outcomes(spec, facts, events, as_of, after=after)
    _, awards, snapshot = _fold(
        spec, facts, events, days, as_of, start=start, after=after, snapshot_on=wanted
    )
    taken = None if wanted is None or snapshot is None else Checkpoint(wanted, snapshot)
    return Folded(tuple(awards), taken)


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

    def plus(self, awards: Iterable[Award]) -> _Totals:
        totals, by_year = self, dict(self.cents_by_year)
        for a in awards:
            points, draws = (a.amount, 0) if a.account == "points" else (0, a.amount)
            by_year[a.on.year] = by_year.get(a.on.year, 0) + a.cents
            totals = replace(
                totals,
                points=totals.points + points,
                cents=totals.cents + a.cents,
                draws=totals.draws + draws,
                capped_cents=totals.capped_cents + a.capped_cents,
            )
        return replace(totals, cents_by_year=MappingProxyType(by_year))


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


@dataclass(frozen=True)
class _Offer:
    """An award before caps."""

    key: str
    kind: str
    amount: int
    why: Msg


@dataclass(frozen=True)
class _Where:
    """Where an award comes from; `group` is its per-test cap window (the test
    day for specimens, the session for attendance)."""

    on: date
    event_id: int | None
    schedule: str
    group: Hashable = field(default=None)


def meter_facts(facts: EnrollmentFacts) -> dict[str, Any]:
    """What the cap meter is told about the enrollment: other enrollments'
    payments and the funding programs' caps."""
    return {
        "year_paid_cents": facts.year_paid_cents,
        "programs": facts.programs,
        "paid_elsewhere": facts.program_paid_cents,
    }


def _initial(facts: EnrollmentFacts) -> _State:
    return _State(meter=CapMeter(**meter_facts(facts)))


def _fold(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayOutcome],
    as_of: date,
    *,
    start: _State | None = None,
    after: date | None = None,
    snapshot_on: date | None = None,
) -> tuple[_State, list[Award], _State | None]:
    """Fold `days` and the sessions after `after` from `start` (the state after
    `after`; the enrollment's first day without it); also return the state after
    every date <= `snapshot_on`."""
    sessions = session_outcomes(spec, facts, events, as_of, after=after)
    by_day = {day.on: day for day in days}
    state = start or _initial(facts)
    snapshot = None
    awards: list[Award] = []
    # Caps apply to awards in date order across schedules (the spec), so both walk
    # the same calendar: a day's specimen first, then its sessions by event id.
    for on in sorted(by_day.keys() | {s.on for s in sessions}):
        if snapshot_on is not None and snapshot is None and on > snapshot_on:
            snapshot = state
        state = _close_week(spec, state, week_of(facts, on))
        first = len(awards)
        if on in by_day:
            state, paid = _fold_day(spec, state, by_day[on])
            awards += paid
        for session in (item for item in sessions if item.on == on):
            state, paid = _fold_session(spec, state, session)
            awards += paid
        state = replace(state, totals=state.totals.plus(awards[first:]))
    if snapshot_on is not None and snapshot is None:
        snapshot = state
    return _close_week(spec, state, week_of(facts, as_of)), awards, snapshot


def _close_week(spec: ProtocolSpec, state: _State, week: int) -> _State:
    """Close the tallied week once the fold is past it (per-week escalation)."""
    tally = state.tally
    if tally is None or tally.week >= week:
        return state
    streak = state.streak
    if tally.clean and tally.negatives:
        streak = after_clean_week(spec.phases[tally.phase].specimen, streak)
    return replace(state, streak=streak, tally=None)


def _tallied(tally: _WeekTally | None, day: DayOutcome) -> _WeekTally:
    if tally is None or tally.week != day.week:
        tally = _WeekTally(day.week, day.phase or 0)
    # A clean week: every folded day negative or excused (REAP: "continuous weeks
    # of negative screens"); a day still unrecorded when the week closes is not.
    clean = tally.clean and day.outcome in ("negative", "excused")
    return replace(
        tally, clean=clean, negatives=tally.negatives + (day.outcome == "negative")
    )


def _fold_day(
    spec: ProtocolSpec, state: _State, day: DayOutcome
) -> tuple[_State, list[Award]]:
    schedule = spec.phases[day.phase or 0].specimen
    if not day.scheduled and spec.extra_tests == "reset_only":
        # Coming in more often must not speed up escalation (spec: extra_tests):
        # an extra negative neither pays nor advances; a lapse still resets.
        if day.outcome in ("positive", "refused") and resets(schedule, day.outcome):
            tally = _tallied(state.tally, day)
            return replace(state, streak=after_reset(state.streak), tally=tally), []
        return state, []
    state = replace(state, tally=_tallied(state.tally, day))
    if day.outcome == "negative":
        step = after_negative(schedule, state.streak)
        if schedule is None:
            return replace(state, streak=step.streak), []
        where = _Where(
            day.on, day.event_id, "specimen", test_group(f"specimen:{day.on}")
        )
        offers = _specimen_offers(spec, schedule, state.streak, day, step)
        awards, meter = _pay(spec, schedule, state.meter, offers, where)
        return replace(state, streak=step.streak, meter=meter), awards
    if resets(schedule, day.outcome):
        return replace(state, streak=after_reset(state.streak)), []
    return state, []


def _fold_session(
    spec: ProtocolSpec, state: _State, session: SessionOutcome
) -> tuple[_State, list[Award]]:
    schedule = spec.phases[session.phase].attendance[session.index]
    before = session_streak(state.sessions, session.index)
    if session.outcome != "attended":
        # Late and missed reset only when the schedule says so (spec `reset_on`);
        # an excused session neither breaks nor extends the run.
        if session.outcome != "excused" and resets(schedule, session.outcome):
            return _with_streak(state, session.index, after_reset(before)), []
        return state, []
    what = Msg(
        N_("%(nth)s attended %(session)s session"),
        (
            ("nth", Ordinal(before.run + 1)),
            ("session", Term("session type", session.session_type)),
        ),
    )
    # One award per clinic-local day and session type: a session entered twice
    # (or re-entered after a void) maps to the award already posted.
    slot = f"{session.on.isoformat()}:{session.session_type}"
    step = after_negative(schedule, before)
    rule = Msg(
        N_("%(what)s: %(amount)s"),
        (("what", what), ("amount", _formula(spec, schedule, before.level))),
    )
    if step.restored_to is not None:
        rule = msg(
            N_(
                "%(award)s. Level restored to %(level)s after %(count)s sessions"
                " since the reset"
            ),
            award=rule,
            level=step.restored_to,
            count=schedule.recovery_after,
        )
    offers = [_Offer(f"attendance:{slot}", "award", schedule.value(before.level), rule)]
    if schedule.bonus is not None and bonus_due(schedule, before):
        text = msg(
            N_("Bonus for %(count)s attended sessions in a row"), count=before.run + 1
        )
        offers.append(_bonus_offer(spec, schedule, f"attendance-bonus:{slot}", text))
    where = _Where(
        session.on, session.event_id, "attendance", test_group(offers[0].key)
    )
    awards, meter = _pay(spec, schedule, state.meter, offers, where)
    state = _with_streak(state, session.index, step.streak)
    return replace(state, meter=meter), awards


def _with_streak(state: _State, index: int, streak: Streak) -> _State:
    streaks = list(state.sessions) + [Streak()] * (index + 1 - len(state.sessions))
    streaks[index] = streak
    return replace(state, sessions=tuple(streaks))


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


def _specimen_offers(
    spec: ProtocolSpec, schedule: Schedule, before: Streak, day: DayOutcome, step: Step
) -> list[_Offer]:
    # Keys name the day, not the event: voiding a specimen and entering the day
    # again must map to the award already posted (settle compares by key).
    iso = day.on.isoformat()
    what = NEGATIVE_TEST if not schedule.escalates else _consecutive(schedule, before)
    if not day.scheduled:
        what = Msg(N_("%(what)s (extra test)"), (("what", what),))
    rule = Msg(
        N_("%(what)s: %(amount)s"),
        (("what", what), ("amount", _formula(spec, schedule, before.level))),
    )
    if step.restored_to is not None:
        rule = msg(
            N_(
                "%(award)s. Level restored to %(level)s after %(count)s negatives"
                " since the reset"
            ),
            award=rule,
            level=step.restored_to,
            count=schedule.recovery_after,
        )
    offers = [_Offer(f"specimen:{iso}", "award", schedule.value(before.level), rule)]
    if schedule.bonus is not None and bonus_due(schedule, before):
        text = msg(N_("Bonus for %(count)s negatives in a row"), count=before.run + 1)
        offers.append(_bonus_offer(spec, schedule, f"bonus:{iso}", text))
    return offers


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


def _bonus_offer(spec: ProtocolSpec, schedule: Schedule, key: str, text: Msg) -> _Offer:
    amount = schedule.bonus.amount if schedule.bonus else 0
    why = Msg(
        N_("%(what)s: %(amount)s"),
        (("what", text), ("amount", _amount_text(spec, schedule, amount))),
    )
    return _Offer(key, "bonus", amount, why)


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


def _unit_cents(spec: ProtocolSpec, schedule: Schedule) -> Fraction | None:
    """Money per unit for the caps; draws count only at their exact expected value
    and only when the protocol asks (spec: count_draws_at_expected_value)."""
    if schedule.account == "points":
        return Fraction(spec.unit_cents)
    if spec.caps.count_draws_at_expected_value:
        return expected_value_cents(schedule.bowl)
    return None


def _pay(
    spec: ProtocolSpec,
    schedule: Schedule,
    meter: CapMeter,
    offers: Sequence[_Offer],
    where: _Where,
) -> tuple[list[Award], CapMeter]:
    awards = []
    unit = _unit_cents(spec, schedule)
    # A funding program counts a draw at its expected value (docs/funding.md).
    program_unit = (
        expected_value_cents(schedule.bowl)
        if schedule.account == "draws" and schedule.bowl
        else unit
    )
    for offer in offers:
        if offer.amount <= 0:
            continue
        cut, meter = apply_caps(
            spec.caps,
            meter,
            on=where.on,
            group=where.group,
            amount=offer.amount,
            unit_cents=unit,
            account=schedule.account,
            program_unit=program_unit,
        )
        awards.append(_award(spec, schedule, offer, cut, where))
    return awards, meter


def _award(
    spec: ProtocolSpec, schedule: Schedule, offer: _Offer, cut: Cut, where: _Where
) -> Award:
    points = schedule.account == "points"
    return Award(
        key=offer.key,
        account=schedule.account,
        kind=offer.kind,
        amount=cut.amount,
        cents=cut.amount * spec.unit_cents if points else 0,
        capped_cents=round_half_up(cut.withheld),
        on=where.on,
        event_id=where.event_id,
        schedule=where.schedule,
        why=Msg(N_("%(rule)s; %(note)s"), (("rule", offer.why), ("note", cut.note)))
        if cut.note
        else offer.why,
    )


def _next_negative(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayOutcome],
    as_of: date,
    *,
    start: _State | None = None,
    after: date | None = None,
) -> NextNegative:
    """Fold again with a negative on the next test day: the very same arithmetic
    (from `start`, the state after `after`, when resumed)."""
    on = _next_test_day(spec, facts, days, as_of)
    if on is None:
        ended = _ended(spec, facts)
        return NextNegative(0, 0, 0, 0, 0, None, english(ended), why=ended)
    # The probe is an ordinary fact: caps, week closes and recovery all apply to
    # it exactly as they will to the real specimen.
    probe = Fact(-1, "specimen", on, dict.fromkeys(targets_of(spec, facts), "negative"))
    kept = [event for event in events if event.on <= as_of]
    probe_days = day_outcomes(spec, facts, [*kept, probe], on, after=after)
    _, awards, _ = _fold(
        spec, facts, [*kept, probe], probe_days, on, start=start, after=after
    )
    paid = [a for a in awards if a.on == on and a.schedule == "specimen"]
    return _summarise(paid, on)


def _next_sessions(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    days: Sequence[DayOutcome],
    as_of: date,
    now: _State,
    *,
    start: _State | None = None,
    after: date | None = None,
) -> tuple[NextSession, ...]:
    """Fold again with each schedule's next session attended: the same arithmetic
    as the real check-in, one probe per attendance schedule."""
    kept = [event for event in events if event.on <= as_of]
    found = []
    for index, (on, session_type) in sorted(
        next_slots(spec, facts, kept, as_of).items()
    ):
        probe = Fact(-1, "attendance", on, session_type=session_type)
        probe_days = day_outcomes(spec, facts, kept, on, after=after)
        _, awards, _ = _fold(
            spec, facts, [*kept, probe], probe_days, on, start=start, after=after
        )
        paid = [a for a in awards if a.on == on and a.schedule == "attendance"]
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
    spec: ProtocolSpec, facts: EnrollmentFacts, days: Sequence[DayOutcome], as_of: date
) -> date | None:
    # Today's scheduled test counts while it is still undecided (nothing recorded
    # yet, or a recollection pending): that is the test the participant faces next.
    today = next((d for d in days if d.on == as_of and d.scheduled), None)
    if today is not None and today.outcome in PENDING:
        return as_of
    ahead = scheduled_days(
        spec, facts, as_of + timedelta(days=1), last_day(spec, facts)
    )
    return ahead[0] if ahead else None


def _summarise(paid: Sequence[Award], on: date) -> NextNegative:
    def total(account: str, kind: str) -> int:
        return sum(a.amount for a in paid if a.account == account and a.kind == kind)

    why = msg(N_("A negative on %(day)s earns nothing in this phase."), day=Day(on))
    if paid:
        rules = Join("semicolon", tuple(a.why for a in paid))
        why = msg(N_("A negative on %(day)s: %(rules)s."), day=Day(on), rules=rules)
    return NextNegative(
        points=total("points", "award"),
        draws=total("draws", "award"),
        cents=sum(a.cents for a in paid),
        bonus_points=total("points", "bonus"),
        bonus_draws=total("draws", "bonus"),
        on=on,
        explanation=english(why),
        why=why,
    )
