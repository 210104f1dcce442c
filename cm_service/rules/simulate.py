"""The simulator core: timelines from outcome tokens, cohorts, and budget tables.

Owns docs/protocol-spec.md "The simulator" except argument parsing and printing (the
CLI's job). It builds Facts from tokens and runs the very same fold as the service
(`evaluate_rows`: `evaluate` with each token's classified day kept per protocol and
start date, since a simulated day depends on its own token only), so a simulated
total is what a clinic would pay. Per-test rows are made when read. Money stays in
integer cents (exact Fractions for draws at expected value); a float appears only in
`as_dict` percentages. Imports only the standard library.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from .days import last_day, phase_at, scheduled_days, session_days, session_type_on
from .draws import expected_value_cents
from .evaluate import Award, Evaluation, evaluate, evaluate_rows, fold_totals
from .facts import Booking, EnrollmentFacts, Fact
from .made import Later, made
from .money import format_cents, round_half_up
from .outcomes import DayRow, day_rows, targets_of
from .spec import ProtocolSpec, bowl_of

FIRST_START = date(2026, 1, 5)
ONE_DAY = timedelta(days=1)
TOKENS = {
    "N": "negative",
    "P": "positive",
    "M": "missed",
    "R": "refused",
    "E": "excused",
    "D": "dilute",
}
# Tokens for an attendance-only protocol: one per session on its schedules' days.
SESSION_TOKENS = {"A": "attended", "L": "late", "M": "missed", "E": "excused"}
# Tokens for which the participant came to the clinic: they also attend the day's
# session when the phase pays attendance.
_CAME_IN = frozenset("NPRDAL")


class SimulationError(ValueError):
    """Bad simulator input, named by the option it came from (e.g. "outcomes")."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class SimulatedTest(Later):
    """One simulated scheduled test and everything it paid (caps included).

    The simulator leaves `rules` (the awards' English) to be made when read."""

    n: int
    on: date
    token: str
    outcome: str | None
    points: int
    bonus_points: int
    cents: int
    draws: int
    bonus_draws: int
    capped_cents: int
    rules: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "on": self.on.isoformat(),
            "outcome": self.outcome,
            "points": self.points,
            "bonus_points": self.bonus_points,
            "cents": self.cents,
            "draws": self.draws,
            "bonus_draws": self.bonus_draws,
            "capped_cents": self.capped_cents,
            "explanations": list(self.rules),
        }


@dataclass(frozen=True)
class SimulationResult(Later):
    """A simulated timeline; the simulator leaves `tests` to be made when read."""

    protocol: str
    version: int
    start: date
    tests: tuple[SimulatedTest, ...]
    evaluation: Evaluation
    expected_prize_cents: Fraction
    # The tokens were sessions (an attendance-only protocol), not tests.
    sessions_only: bool = False

    @property
    def percent_negative(self) -> Fraction | None:
        """Negatives / (tests - excused) x 100, exact; None when nothing counts."""
        return None if self.sessions_only else self._share(("negative",))

    @property
    def percent_attended(self) -> Fraction | None:
        """Sessions attended (late included) / (sessions - excused) x 100."""
        return self._share(("attended", "late")) if self.sessions_only else None

    def _share(self, hits: tuple[str, ...]) -> Fraction | None:
        counted = [t for t in self.tests if t.outcome != "excused"]
        found = sum(t.outcome in hits for t in counted)
        return Fraction(100 * found, len(counted)) if counted else None

    @property
    def longest_attended(self) -> int:
        """The longest run of sessions attended (excused ones skipped)."""
        best = run = 0
        for test in self.tests:
            if test.outcome in ("attended", "late"):
                run += 1
                best = max(best, run)
            elif test.outcome != "excused":
                run = 0
        return best

    @property
    def cost_cents(self) -> Fraction:
        """Money paid plus draws at the bowl's exact expected value."""
        return self.evaluation.total_cents + self.expected_prize_cents

    def as_dict(self) -> dict[str, Any]:
        """The `--json` shape of docs/protocol-spec.md (plus explanations and expected
        prize cost)."""
        evaluation = self.evaluation
        return {
            "protocol": self.protocol,
            "version": self.version,
            "start": self.start.isoformat(),
            "tests": [test.as_dict() for test in self.tests],
            "total_points": evaluation.total_points,
            "total_cents": evaluation.total_cents,
            "total_draws": evaluation.total_draws,
            "capped_cents": evaluation.capped_cents,
            "longest_run": evaluation.longest_run,
            "percent_negative": _percent(self.percent_negative),
            "percent_attended": _percent(self.percent_attended),
            "expected_prize_cents": round_half_up(self.expected_prize_cents),
        }


def _percent(value: Fraction | None) -> float | None:
    # The display edge: one decimal, halves up, from the exact value.
    return None if value is None else round_half_up(value * 10) / 10


def default_start() -> date:
    """The first Monday on or after 2026-01-05 (the simulator's default)."""
    return FIRST_START + timedelta(days=-FIRST_START.weekday() % 7)


def simulate_outcomes(
    spec: ProtocolSpec,
    tokens: str,
    start: date | None = None,
    *,
    version: int = 1,
    testing_days: Mapping[int, Sequence[int]] | None = None,
) -> SimulationResult:
    """Evaluate one token per scheduled test (N P M R E D) from `start`.

    Tokens are whitespace separated, case-insensitive. Fewer tokens than scheduled
    tests simulate only the first ones. `testing_days` replaces phases' testing
    weekdays as an enrollment's do. Raises SimulationError("outcomes", ...) for
    an unknown token, no token at all, or more tokens than scheduled tests.
    """
    start = start or default_start()
    facts, days, alphabet, made_events = _simulated(spec, start, testing_days)
    # as_of is the last simulated test: the fold stops where the tokens stop.
    codes = _parse_tokens(tokens, len(days), alphabet)
    events, rows = _timeline(spec, facts, days, codes, alphabet, made_events)
    as_of = days[len(codes) - 1]
    if rows is None:
        evaluation = evaluate(spec, facts, events, as_of=as_of)
    else:
        evaluation = evaluate_rows(spec, facts, events, rows, as_of)
    return made(
        SimulationResult,
        {
            "protocol": spec.key,
            "version": version,
            "start": start,
            "evaluation": evaluation,
            "expected_prize_cents": _prize_value(spec, evaluation.total_draws),
            "sessions_only": alphabet is SESSION_TOKENS,
            "_tests": (days, codes),
        },
    )


def _tests(result: SimulationResult) -> tuple[SimulatedTest, ...]:
    """The per-test rows of a simulation (SimulationResult.tests)."""
    days, codes = result.__dict__["_tests"]
    evaluation = result.evaluation
    outcomes: dict[date, str | None] = {}
    for session in reversed(evaluation.sessions):  # the first of a day wins
        outcomes[session.on] = session.outcome
    for day in reversed(evaluation.days):  # a day's test before its session
        outcomes[day.on] = day.outcome
    paid: dict[date, list[Award]] = {}
    for award in evaluation.awards:
        paid.setdefault(award.on, []).append(award)
    return tuple(
        _test_row(n, on, code, outcomes.get(on), paid.get(on, []))
        for n, (on, code) in enumerate(zip(days, codes, strict=False), start=1)
    )


# Per protocol, start and testing days: the simulated enrollment, its days, their
# alphabet and the session type held on each day (for tokens that attend).
_SIMULATED: dict[
    tuple[int, date, tuple[tuple[int, tuple[int, ...]], ...]],
    tuple[
        ProtocolSpec,
        EnrollmentFacts,
        list[date],
        dict[str, str],
        dict[tuple[int, str], tuple[tuple[Fact, ...], DayRow | None]],
    ],
] = {}


def _simulated(
    spec: ProtocolSpec,
    start: date,
    testing_days: Mapping[int, Sequence[int]] | None,
) -> tuple[
    EnrollmentFacts,
    list[date],
    dict[str, str],
    dict[tuple[int, str], tuple[tuple[Fact, ...], DayRow | None]],
]:
    """`simulated_facts`, its `calendar` and the events and the day row of each
    token at each position (filled as they are asked for), kept per protocol
    (this very spec object), start date and testing days: every participant of
    a cohort shares them (they are frozen)."""
    given = tuple(sorted((i, tuple(d)) for i, d in (testing_days or {}).items()))
    key = (id(spec), start, given)
    found = _SIMULATED.get(key)
    if found is None or found[0] is not spec:
        facts = simulated_facts(spec, start, testing_days)
        days, alphabet = calendar(spec, facts)
        if len(_SIMULATED) >= 64:
            _SIMULATED.clear()
        # The spec itself is kept with its id, so the id cannot be another's.
        found = _SIMULATED[key] = (spec, facts, days, alphabet, {})
    return found[1], found[2], found[3], found[4]


def _timeline(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    days: Sequence[date],
    codes: Sequence[str],
    alphabet: dict[str, str],
    made_events: dict[tuple[int, str], tuple[tuple[Fact, ...], DayRow | None]],
) -> tuple[list[Fact], list[DayRow] | None]:
    """The events of the tokens (`_events`; every event of test n has id n) and,
    for scheduled tests, the fold's day rows (`day_rows` of those events, None
    for sessions), each made once per position and token: a test's day row
    depends on its own events only (a simulated enrollment has no exemptions,
    no closed days and nothing recorded on other days)."""
    events: list[Fact] = []
    rows: list[DayRow] | None = [] if alphabet is TOKENS else None
    for n, (on, code) in enumerate(zip(days, codes, strict=False), start=1):
        key = (n, code)
        found = made_events.get(key)
        if found is None:
            made_now = tuple(_events(spec, facts, n, on, code, alphabet))
            day: DayRow | None = None
            if alphabet is TOKENS:
                one = day_rows(spec, facts, made_now, on, after=on - ONE_DAY)
                day = one[0] if len(one) == 1 else None
            found = made_events[key] = (made_now, day)
        events += found[0]
        if rows is not None:
            if found[1] is None:
                rows = None  # not one row per test: let evaluate classify
            else:
                rows.append(found[1])
    return events, rows


def simulated_facts(
    spec: ProtocolSpec,
    start: date,
    testing_days: Mapping[int, Sequence[int]] | None = None,
) -> EnrollmentFacts:
    """A simulated enrollment from `start` (tested on `testing_days` where given),
    booked into every session that a schedule by appointment (`scheduled: true`)
    holds on its `days`."""
    days = {index: tuple(found) for index, found in (testing_days or {}).items()}
    facts = EnrollmentFacts(start_on=start, testing_days=MappingProxyType(days))
    bookings = []
    for on in session_days(spec, facts, start, last_day(spec, facts)):
        found = phase_at(spec, facts, on)
        for schedule in found[1].attendance if found else ():
            if schedule.scheduled and on.weekday() in schedule.days:
                bookings.append(Booking(on, schedule.session_types[0]))
    return replace(facts, bookings=tuple(bookings))


def calendar(
    spec: ProtocolSpec, facts: EnrollmentFacts
) -> tuple[list[date], dict[str, str]]:
    """The simulated days and their tokens: the scheduled tests (N P M R E D), or
    for an attendance-only protocol its sessions (A L M E) on the days its
    attendance schedules name (docs/protocol-spec.md)."""
    end = last_day(spec, facts)
    tests = scheduled_days(spec, facts, facts.start_on, end)
    if tests or not any(phase.attendance for phase in spec.phases):
        return tests, TOKENS
    return session_days(spec, facts, facts.start_on, end), SESSION_TOKENS


def theoretical_maximum(
    spec: ProtocolSpec,
    start: date | None = None,
    *,
    version: int = 1,
    testing_days: Mapping[int, Sequence[int]] | None = None,
) -> SimulationResult:
    """The simulation with every scheduled test negative, or every session attended
    (the budget ceiling); on an enrollment's own `testing_days` where given."""
    start = start or default_start()
    days, alphabet = calendar(spec, simulated_facts(spec, start, testing_days))
    best = "N" if alphabet is TOKENS else "A"
    return simulate_outcomes(
        spec,
        " ".join(best * len(days)),
        start,
        version=version,
        testing_days=testing_days,
    )


def _parse_tokens(
    tokens: str, scheduled: int, alphabet: dict[str, str] = TOKENS
) -> list[str]:
    codes = tokens.upper().split()
    unknown = sorted({code for code in codes if code not in alphabet})
    letters = ", ".join(alphabet)
    if unknown:
        meanings = ", ".join(alphabet.values())
        raise SimulationError(
            "outcomes",
            f"unknown outcome {', '.join(unknown)}: use {letters} ({meanings})",
        )
    if not codes:
        raise SimulationError("outcomes", f"give at least one outcome ({letters})")
    if not scheduled:
        raise SimulationError(
            "outcomes", "the protocol schedules no tests and no sessions to simulate"
        )
    if len(codes) > scheduled:
        raise SimulationError(
            "outcomes",
            f"{len(codes)} outcomes given but the protocol schedules {scheduled} tests",
        )
    return codes


def _events(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    n: int,
    on: date,
    code: str,
    alphabet: dict[str, str] = TOKENS,
) -> list[Fact]:
    """The verified events a token stands for; every event of test n has id n."""
    targets = targets_of(spec, facts)
    if alphabet is SESSION_TOKENS:
        kind = session_type_on(spec, facts, on)
        return [_session_event(n, on, code, kind)] if kind else []
    events = {
        "N": [Fact(n, "specimen", on, dict.fromkeys(targets, "negative"))],
        "P": [Fact(n, "specimen", on, dict.fromkeys(targets, "positive"))],
        "M": [Fact(n, "missed", on)],
        "R": [Fact(n, "specimen", on, refused=True)],
        "E": [Fact(n, "excused", on)],
        # A dilute specimen, and the nightly job's `missed` in case it maps to
        # recollect and no valid specimen follows that day (docs/protocol-spec.md).
        "D": [
            Fact(n, "specimen", on, dict.fromkeys(targets, "dilute")),
            Fact(n, "missed", on),
        ],
    }[code]
    kind = session_type_on(spec, facts, on)
    if kind is not None and code in _CAME_IN:
        events.append(Fact(n, "attendance", on, session_type=kind))
    return events


def _session_event(n: int, on: date, code: str, session_type: str) -> Fact:
    """A session token as the event staff (or the nightly job) would record."""
    if code in ("A", "L"):
        return Fact(n, "attendance", on, session_type=session_type, late=code == "L")
    return Fact(n, SESSION_TOKENS[code], on, session_type=session_type)


def _test_row(
    n: int, on: date, code: str, outcome: str | None, paid: Sequence[Award]
) -> SimulatedTest:
    points = bonus_points = draws = bonus_draws = cents = capped = 0
    for award in paid:
        if award.account == "points":
            if award.kind == "award":
                points += award.amount
            elif award.kind == "bonus":
                bonus_points += award.amount
        elif award.account == "draws":
            if award.kind == "award":
                draws += award.amount
            elif award.kind == "bonus":
                bonus_draws += award.amount
        cents += award.cents
        capped += award.capped_cents
    return made(
        SimulatedTest,
        {
            "n": n,
            "on": on,
            "token": code,
            "outcome": outcome,
            "points": points,
            "bonus_points": bonus_points,
            "cents": cents,
            "draws": draws,
            "bonus_draws": bonus_draws,
            "capped_cents": capped,
            "_rules": tuple(paid),
        },
    )


def _rules(test: SimulatedTest) -> tuple[str, ...]:
    """The English of each award a test paid (SimulatedTest.rules)."""
    return tuple(award.rule for award in test.__dict__["_rules"])


SimulatedTest._later = {"rules": _rules}
SimulationResult._later = {"tests": _tests}


def _sum(awards: Sequence[Award], account: str, kind: str) -> int:
    return sum(a.amount for a in awards if a.account == account and a.kind == kind)


def _prize_value(spec: ProtocolSpec, draws: int) -> Fraction:
    bowl = bowl_of(spec)
    return draws * expected_value_cents(bowl) if bowl and draws else Fraction(0)


@dataclass(frozen=True)
class CohortResult:
    """Cost per participant over a simulated cohort, in cents (draws at exact EV)."""

    protocol: str
    version: int
    participants: int
    p_negative: Fraction
    seed: int
    costs_cents: tuple[Fraction, ...]
    maximum_cents: Fraction
    # Every participant's first day: the calendar decides which year a cap counts in.
    start: date = FIRST_START

    @property
    def mean_cents(self) -> int:
        return round_half_up(sum(self.costs_cents, Fraction(0)) / len(self.costs_cents))

    @property
    def median_cents(self) -> int:
        """The middle cost (the mean of the two middle ones for an even count)."""
        ordered = sorted(self.costs_cents)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return round_half_up(ordered[middle])
        return round_half_up((ordered[middle - 1] + ordered[middle]) / 2)

    @property
    def p90_cents(self) -> int:
        """The 90th percentile by the nearest-rank method."""
        ordered = sorted(self.costs_cents)
        rank = -(-9 * len(ordered) // 10)  # ceil(0.9 n) in integers
        return round_half_up(ordered[rank - 1])

    @property
    def max_cents(self) -> int:
        return round_half_up(max(self.costs_cents))

    @property
    def mean_proportion(self) -> Fraction:
        """Mean share of the theoretical maximum earned (docs/outcomes.md)."""
        if not self.maximum_cents:
            return Fraction(0)
        total = sum(self.costs_cents, Fraction(0))
        return total / (len(self.costs_cents) * self.maximum_cents)

    def as_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "version": self.version,
            "start": self.start.isoformat(),
            "participants": self.participants,
            "p_negative": float(self.p_negative),
            "seed": self.seed,
            "mean_cents": self.mean_cents,
            "median_cents": self.median_cents,
            "p90_cents": self.p90_cents,
            "max_cents": self.max_cents,
            "theoretical_maximum_cents": round_half_up(self.maximum_cents),
            "mean_percent_of_maximum": _percent(self.mean_proportion * 100),
        }


def simulate_cohort(
    spec: ProtocolSpec,
    n: int,
    p_negative: Fraction | str,
    seed: int,
    start: date | None = None,
    *,
    version: int = 1,
) -> CohortResult:
    """Simulate `n` participants whose scheduled tests are each negative with
    probability `p_negative` (independently), seeded for repeatability, all starting
    on `start` (default_start() if None): a cohort spanning 1 January meets a
    calendar-year cap twice.

    Otherwise a test is positive; on a protocol that pays no specimen at all
    (attendance only) it is missed instead, so the chance reads as "attended".

    Raises SimulationError("cohort", ...) for n < 1 and ("p_negative", ...) for a
    probability that is not a number in [0, 1].
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SimulationError(
            "cohort", "must be a whole number of participants, at least 1"
        )
    chance = _probability(p_negative)
    start = start or default_start()
    maximum = theoretical_maximum(spec, start)
    rng = random.Random(seed)  # noqa: S311 - a budget simulation, not a secret
    _, alphabet = calendar(spec, EnrollmentFacts(start_on=start))
    success, lapse = ("A", "M") if alphabet is SESSION_TOKENS else ("N", "P")
    count = len(maximum.tests)
    facts, days, alphabet, made_events = _simulated(spec, start, None)
    # Each participant's cost is simulate_outcomes(spec, " ".join(codes), start)
    # .cost_cents (tested), folded without the per-test rows and next awards.
    costs = tuple(
        _cost(
            spec,
            facts,
            days,
            alphabet,
            made_events,
            _random_codes(rng, chance, count, success, lapse),
        )
        for _ in range(n)
    )
    return CohortResult(
        spec.key, version, n, chance, seed, costs, maximum.cost_cents, start
    )


def _probability(value: Fraction | str) -> Fraction:
    try:
        chance = Fraction(value)
    except (ValueError, TypeError, ZeroDivisionError):
        raise SimulationError("p_negative", "must be a number from 0 to 1") from None
    if not 0 <= chance <= 1:
        raise SimulationError("p_negative", "must be a number from 0 to 1")
    return chance


def _random_codes(
    rng: random.Random, chance: Fraction, count: int, success: str, lapse: str
) -> list[str]:
    # randrange over the exact denominator: no float probability anywhere.
    below, den = chance.numerator, chance.denominator
    return [success if rng.randrange(den) < below else lapse for _ in range(count)]


def _cost(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    days: Sequence[date],
    alphabet: dict[str, str],
    made_events: dict[tuple[int, str], tuple[tuple[Fact, ...], DayRow | None]],
    codes: Sequence[str],
) -> Fraction:
    """`simulate_outcomes(...).cost_cents` of these (valid) codes: the fold's
    money and draws, without the rest of the evaluation."""
    events, rows = _timeline(spec, facts, days, codes, alphabet, made_events)
    as_of = days[len(codes) - 1]
    if rows is None:
        rows = day_rows(spec, facts, events, as_of)
    cents, draws = fold_totals(spec, facts, events, rows, as_of)
    return cents + _prize_value(spec, draws)


_COLUMNS = (
    ("n", ">3"),
    ("date", "<10"),
    ("day", "<3"),
    ("outcome", "<9"),
    ("points", ">6"),
    ("bonus", ">5"),
    ("$", ">9"),
    ("draws", ">5"),
    ("running $", ">10"),
)


def format_table(result: SimulationResult | CohortResult) -> str:
    """A readable, aligned text table of a simulation or a cohort, with totals."""
    if isinstance(result, CohortResult):
        return _cohort_table(result)
    return _timeline_table(result)


def _line(cells: Sequence[str]) -> str:
    cells = [f"{cell:{spec}}" for cell, (_, spec) in zip(cells, _COLUMNS, strict=True)]
    return "  ".join(cells).rstrip()


def _count(value: int) -> str:
    return f"{value:,}" if value else "-"


def _timeline_table(result: SimulationResult) -> str:
    header = _line([name for name, _ in _COLUMNS])
    rule = "-" * len(header)
    title = f"{result.protocol} v{result.version}, from {result.start:%a %Y-%m-%d}"
    running = 0
    rows = []
    for test in result.tests:
        running += test.cents
        rows.append(_test_line(test, running))
    summary = _timeline_summary(result)
    return "\n".join(
        [title, "", header, rule, *rows, rule, _total_line(result), "", *summary]
    )


def _test_line(test: SimulatedTest, running_cents: int) -> str:
    return _line(
        [
            str(test.n),
            test.on.isoformat(),
            f"{test.on:%a}",
            test.outcome or "-",
            _count(test.points),
            _count(test.bonus_points),
            format_cents(test.cents),
            _count(test.draws + test.bonus_draws),
            format_cents(running_cents),
        ]
    )


def _total_line(result: SimulationResult) -> str:
    points = sum(test.points for test in result.tests)
    bonus = sum(test.bonus_points for test in result.tests)
    total = format_cents(result.evaluation.total_cents)
    draws = _count(result.evaluation.total_draws)
    return _line(["", "Total", "", "", _count(points), _count(bonus), total, draws, ""])


def _timeline_summary(result: SimulationResult) -> list[str]:
    evaluation = result.evaluation
    percent = _percent(result.percent_negative)
    draws = evaluation.total_draws
    rows = [
        (
            "Paid",
            f"{format_cents(evaluation.total_cents)}"
            f" ({evaluation.total_points:,} points, {draws:,} draws)",
        ),
        ("Withheld by caps", format_cents(evaluation.capped_cents)),
        *_run_rows(result, percent),
    ]
    if draws:
        prizes = format_cents(round_half_up(result.expected_prize_cents))
        rows.append(
            ("Expected prizes", f"{prizes} ({draws:,} draws at expected value)")
        )
    return _labelled(rows)


def _run_rows(result: SimulationResult, percent: float | None) -> list[tuple[str, str]]:
    if result.sessions_only:
        attended = _percent(result.percent_attended)
        shown = "n/a" if attended is None else f"{attended}% (excused not counted)"
        return [
            ("Longest run", f"{result.longest_attended} sessions attended"),
            ("Attended", shown),
        ]
    shown = "n/a" if percent is None else f"{percent}% (excused not counted)"
    return [
        ("Longest run", f"{result.evaluation.longest_run} negatives"),
        ("Negative", shown),
    ]


def _labelled(rows: Sequence[tuple[str, str]], *, align: bool = False) -> list[str]:
    width = max(len(label) for label, _ in rows) + 1
    values = max(len(value) for _, value in rows) if align else 0
    return [f"{label + ':':<{width}}  {value:>{values}}" for label, value in rows]


def _cohort_table(result: CohortResult) -> str:
    rows = [
        ("Mean", format_cents(result.mean_cents)),
        ("Median", format_cents(result.median_cents)),
        ("90th percentile", format_cents(result.p90_cents)),
        ("Maximum", format_cents(result.max_cents)),
        ("Theoretical maximum", format_cents(round_half_up(result.maximum_cents))),
        ("Mean share of maximum", f"{_percent(result.mean_proportion * 100)}%"),
    ]
    chance = _percent(result.p_negative * 100)
    who = f"{result.participants:,} participants, from {result.start:%a %Y-%m-%d}"
    return "\n".join(
        [
            f"{result.protocol} v{result.version}, {who}",
            f"Each test negative with probability {chance}% (seed {result.seed})",
            "Cost per participant, draws at the bowl's expected value:",
            "",
            *(f"  {line}" for line in _labelled(rows, align=True)),
        ]
    )
