"""Outcome classification: from per-analyte results to one outcome per day.

Owns how a specimen's results become `negative | positive | refused | missed |
excused | recollect` for a protocol (targets, combine rule, result mapping, medication
exemptions) and how a day's events merge into the day's single outcome. Imports only
the standard library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from .days import last_day, phase_at, scheduled_days, scheduled_weeks, week_of
from .facts import EnrollmentFacts, Fact
from .made import made
from .spec import MAPPED_RESULTS, ProtocolSpec

ONE_DAY = timedelta(days=1)

Outcome = Literal["negative", "positive", "refused", "missed", "excused", "recollect"]

# Most severe first wins when targets or specimens disagree (positive > refused
# > missed > recollect); negative is the absence of all of them.
SEVERITY: Mapping[str, int] = {
    "negative": 0,
    "recollect": 1,
    "missed": 2,
    "refused": 3,
    "positive": 4,
}
DECISIVE = frozenset({"negative", "positive", "refused"})
TEST_KINDS = ("specimen", "breath")
PENDING = (None, "recollect")


@dataclass(frozen=True)
class DayOutcome:
    """The outcome of one protocol day.

    One per scheduled day up to as_of (outcome None while nothing is recorded) and one
    per unscheduled day with a test (an extra test).
    """

    on: date
    scheduled: bool
    outcome: Outcome | None
    event_id: int | None
    week: int
    phase: int | None


def targets_of(spec: ProtocolSpec, facts: EnrollmentFacts) -> tuple[str, ...]:
    """The analytes that decide outcomes for this enrollment."""
    return facts.targets if facts.targets else spec.targets.substances


def classify_results(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    results: Mapping[str, str],
    refused: bool,
    on: date,
) -> Outcome | None:
    """The outcome of one specimen for this protocol and enrollment.

    Untargeted analytes are ignored; an exempted analyte's positive on a covered day
    counts as negative; dilute/invalid/adulterated/substituted follow `spec.results`;
    refused and insufficient are "refused". A target missing from the panel is
    "recollect" (pending). Returns None when no target analyte was tested (e.g. a
    breath test on a stimulant-only protocol). Raises ValueError for an unknown result.
    """
    outcome, _ = outcome_of_day(
        spec, facts, [Fact(0, "specimen", on, results, refused)]
    )
    return outcome


def analyte_outcome(
    spec: ProtocolSpec, facts: EnrollmentFacts, analyte: str, result: str, on: date
) -> Outcome:
    """The outcome one analyte's result means on `on` (before combining targets)."""
    if result == "negative":
        return "negative"
    if result == "positive":
        # MRO downgrade: a positive explained by a prescription is a negative
        # (as an MRO reports it); only a positive, a dilute is still a dilute.
        exempt = any(x.covers(analyte, on) for x in facts.exemptions)
        return "negative" if exempt else "positive"
    if result in ("insufficient", "refused"):  # failure to provide (CRA contract)
        return "refused"
    if result in MAPPED_RESULTS:
        return spec.results[result]  # type: ignore[return-value]
    raise ValueError(f"unknown result {result!r} for {analyte}")


def combine(spec: ProtocolSpec, outcomes: Sequence[Outcome]) -> Outcome:
    """One outcome from the targets' outcomes, by the protocol's combine rule."""
    if spec.targets.combine == "any" and "negative" in outcomes:
        return "negative"
    return max(outcomes, key=SEVERITY.__getitem__)


def outcome_of_day(
    spec: ProtocolSpec, facts: EnrollmentFacts, events: Sequence[Fact]
) -> tuple[Outcome | None, int | None]:
    """The day's single outcome and the event that decided it.

    A decisive test result (the most severe of negative/positive/refused over the
    merged results of the day's specimen and breath events) wins; then an excused
    event; then missed (a nightly `missed` event or a result mapped to missed);
    then recollect (pending); else None.
    """
    merged, deciders = _merge_tests(spec, facts, events)
    if merged in DECISIVE:
        return merged, min(deciders)
    for kind in ("excused", "missed"):
        ids = [e.event_id for e in events if e.kind == kind]
        if ids:
            return kind, min(ids)
    if merged is not None:
        return merged, min(deciders) if deciders else _first_test(events)
    return None, None


def _first_test(events: Iterable[Fact]) -> int | None:
    return min((e.event_id for e in events if e.kind in TEST_KINDS), default=None)


def _merge_tests(
    spec: ProtocolSpec, facts: EnrollmentFacts, events: Sequence[Fact]
) -> tuple[Outcome | None, list[int]]:
    """Merge the day's tests; returns the outcome and the ids of deciding events."""
    targets = targets_of(spec, facts)
    tests = [e for e in events if e.kind in TEST_KINDS]
    refusals = [e.event_id for e in tests if e.refused and _concerns(e, targets)]
    per_target = _per_target(spec, facts, [e for e in tests if not e.refused], targets)
    if not per_target and not refusals:
        return None, []
    candidates: list[Outcome] = ["refused"] if refusals else []
    if per_target:
        # A target the day's panels did not test leaves the day pending.
        pending: tuple[Outcome, list[int]] = ("recollect", [])
        candidates.append(
            combine(spec, [per_target.get(t, pending)[0] for t in targets])
        )
    outcome = max(candidates, key=SEVERITY.__getitem__)
    ids = refusals + [
        i for o, found in per_target.values() if o in DECISIVE for i in found
    ]
    return outcome, sorted(set(ids))


def _concerns(event: Fact, targets: Sequence[str]) -> bool:
    # A refusal says something unless its panel names only untargeted analytes.
    names = {name.casefold() for name in event.results}
    return not names or any(t.casefold() in names for t in targets)


def _per_target(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    readings: Sequence[Fact],
    targets: Sequence[str],
) -> dict[str, tuple[Outcome, list[int]]]:
    """Per target analyte: its outcome over the day's readings and the events behind it.

    A decisive result beats a pending one (a valid specimen after a dilute one
    decides the day); among decisive results the most severe wins.
    """
    wanted = {target.casefold() for target in targets}
    seen: dict[str, list[tuple[Outcome, int]]] = defaultdict(list)
    for event in readings:
        for analyte, result in event.results.items():
            if analyte.casefold() not in wanted:
                continue  # recorded, ignored for payment (CA: 14-panel cup)
            outcome = analyte_outcome(spec, facts, analyte, result, event.on)
            seen[analyte.casefold()].append((outcome, event.event_id))
    merged = {}
    for target in targets:
        found = seen.get(target.casefold())
        if found:
            decisive = [f for f in found if f[0] in DECISIVE] or found
            outcome = max((o for o, _ in decisive), key=SEVERITY.__getitem__)
            merged[target] = (outcome, [i for o, i in decisive if o in DECISIVE])
    return merged


# A DayOutcome as the fold reads it: (on, scheduled, outcome, event_id, week,
# phase), made into a DayOutcome (`day_of`) only when someone asks for one.
DayRow = tuple[date, bool, Outcome | None, int | None, int, int]


def day_of(row: DayRow) -> DayOutcome:
    """The DayOutcome of a row of `day_rows`."""
    on, scheduled, outcome, event_id, week, phase = row
    return made(
        DayOutcome,
        {
            "on": on,
            "scheduled": scheduled,
            "outcome": outcome,
            "event_id": event_id,
            "week": week,
            "phase": phase,
        },
    )


def day_outcomes(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    as_of: date,
    *,
    after: date | None = None,
) -> list[DayOutcome]:
    """Every protocol day up to `as_of` (and after `after`, if given) that the fold
    walks, in date order."""
    return [day_of(row) for row in day_rows(spec, facts, events, as_of, after=after)]


def day_rows(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    events: Sequence[Fact],
    as_of: date,
    *,
    after: date | None = None,
) -> list[DayRow]:
    """`day_outcomes` as rows (DayRow): what the fold walks."""
    last = min(as_of, last_day(spec, facts))
    first = facts.start_on if after is None else max(facts.start_on, after + ONE_DAY)
    by_day: dict[date, list[Fact]] = {}
    for event in events:
        if (
            event.kind != "attendance"
            and event.session_type is None  # not about a session (Fact.is_session)
            and first <= event.on <= last
        ):
            found_events = by_day.get(event.on)
            if found_events is None:
                by_day[event.on] = [event]
            else:
                found_events.append(event)
    weeks = scheduled_weeks(spec, facts)
    scheduled = list(weeks)  # in date order
    if scheduled and (scheduled[0] < first or scheduled[-1] > last):
        scheduled = scheduled_days(spec, facts, first, last)
    ordered: Iterable[date] = scheduled
    if not by_day.keys() <= weeks.keys():  # an extra test: merge its day in
        ordered = sorted(set(scheduled) | by_day.keys())
    closed_through = facts.closed_through
    # A day's outcome depends on its events' results, not on its date, unless an
    # exemption covers some days: then every day is classified afresh.
    known = _classified(spec, facts) if not facts.exemptions else None
    days: list[DayRow] = []
    for on in ordered:
        todays = by_day.get(on)
        if todays is None:
            outcome, event_id = None, None
        elif known is not None and len(todays) == 1:
            outcome, event_id = _one_event(spec, facts, todays[0], known)
        else:
            outcome, event_id = outcome_of_day(spec, facts, todays)
        place = weeks.get(on)
        if place is not None and first <= on:
            if closed_through is not None and on <= closed_through:
                if outcome is None or outcome == "recollect":  # PENDING
                    outcome = "missed"  # derived: the nightly job writes it
            days.append((on, True, outcome, event_id, place[0], place[1]))
            continue
        found = phase_at(spec, facts, on)
        if found is None or outcome in (None, "excused"):
            continue
        if spec.extra_tests == "ignore":
            continue  # recorded, never changes the fold (spec: extra_tests)
        days.append((on, False, outcome, event_id, week_of(facts, on), found[0]))
    return days


# Per protocol classification (targets, combine rule, result mapping), the outcome
# of a day with one event of a given kind and results: (outcome, decided by it).
_CLASSIFIED: dict[tuple[Any, ...], dict[tuple[Any, ...], tuple[Outcome | None, bool]]]
_CLASSIFIED = {}


def _classified(
    spec: ProtocolSpec, facts: EnrollmentFacts
) -> dict[tuple[Any, ...], tuple[Outcome | None, bool]]:
    key = (
        targets_of(spec, facts),
        spec.targets.combine,
        tuple(sorted(spec.results.items())),
    )
    known = _CLASSIFIED.get(key)
    if known is None:
        if len(_CLASSIFIED) > 256:
            _CLASSIFIED.clear()
        known = _CLASSIFIED[key] = {}
    return known


def _one_event(
    spec: ProtocolSpec,
    facts: EnrollmentFacts,
    event: Fact,
    known: dict[tuple[Any, ...], tuple[Outcome | None, bool]],
) -> tuple[Outcome | None, int | None]:
    """`outcome_of_day` of a day with this one event (no exemption applies):
    classified once per kind and results, then looked up."""
    signature = (event.kind, event.refused, tuple(event.results.items()))
    found = known.get(signature)
    if found is None:
        outcome, event_id = outcome_of_day(spec, facts, [event])
        # With one event, whatever decides the day is that event.
        found = (outcome, event_id is not None)
        if len(known) < 1024:
            known[signature] = found
    return found[0], event.event_id if found[1] else None
