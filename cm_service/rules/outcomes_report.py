"""Outcome measures of CM research and funder reports (docs/outcomes.md).

Owns the arithmetic over one enrollment's scheduled tests in a window: longest
duration of abstinence (LDA), percent negative with both denominators, total
negatives, continuous-abstinence thresholds and weeks retained. Values are exact
(int, Fraction); rounding happens only where a report displays them. Imports only
the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Missing = Literal["positive", "ignored"]
THRESHOLD_WEEKS = (4, 8, 12)
# Dropout: this many consecutive enrollment weeks without a sample or a session
# (commonly 2 in CM research: a convention chosen here, not a standard).
DROPOUT_WEEKS = 2


@dataclass(frozen=True)
class ScheduledTest:
    """One scheduled test's outcome: negative | positive | refused | missed | excused.

    `per_week` is the number of tests scheduled per week when it fell, so a run of
    tests converts to weeks even when the schedule changes between phases.
    """

    outcome: str
    per_week: int


@dataclass(frozen=True)
class Abstinence:
    tests: int
    weeks: Fraction


@dataclass(frozen=True)
class Measures:
    """The measures of docs/outcomes.md for one enrollment: S scheduled, E excused,
    U unexcused misses and refusals, N negatives, P positives."""

    scheduled: int
    excused: int
    missing: int
    negatives: int
    positives: int
    lda: Abstinence  # missing = positive (the CM norm, the default)
    lda_missing_ignored: Abstinence  # the sensitivity analysis
    percent_of_scheduled: Fraction | None  # 100 N / (S - E)
    percent_of_submitted: Fraction | None  # 100 N / (N + P)

    def abstinent_weeks(self, missing: Missing = "positive") -> Fraction:
        return (self.lda if missing == "positive" else self.lda_missing_ignored).weeks

    def reached(self, weeks: int, missing: Missing = "positive") -> bool:
        """Continuous abstinence of at least `weeks` weeks (CTN: 4, 8, 12)."""
        return self.abstinent_weeks(missing) >= weeks


def longest_abstinence(
    tests: Sequence[ScheduledTest], missing: Missing = "positive"
) -> Abstinence:
    """The longest run of consecutive negative scheduled tests.

    Excused tests neither extend nor break a run. Unexcused misses break it under
    "missing = positive" and are skipped under "missing ignored". A refusal always
    breaks it: a refused specimen is presumed positive in CM.
    """
    best = Abstinence(0, Fraction(0))
    run = Abstinence(0, Fraction(0))
    for test in tests:
        if test.outcome == "negative":
            run = Abstinence(run.tests + 1, run.weeks + Fraction(1, test.per_week))
            best = max(best, run, key=lambda a: (a.weeks, a.tests))
        elif test.outcome == "excused" or (
            test.outcome == "missed" and missing == "ignored"
        ):
            continue
        else:
            run = Abstinence(0, Fraction(0))
    return best


def measure(tests: Sequence[ScheduledTest]) -> Measures:
    """All of section 5's per-enrollment measures over the tests, in date order."""
    count = {
        kind: sum(t.outcome == kind for t in tests)
        for kind in ("negative", "positive", "refused", "missed", "excused")
    }
    negatives, positives = count["negative"], count["positive"]
    counted = len(tests) - count["excused"]
    submitted = negatives + positives
    return Measures(
        scheduled=len(tests),
        excused=count["excused"],
        missing=count["missed"] + count["refused"],
        negatives=negatives,
        positives=positives,
        lda=longest_abstinence(tests, "positive"),
        lda_missing_ignored=longest_abstinence(tests, "ignored"),
        percent_of_scheduled=_percent(negatives, counted),
        percent_of_submitted=_percent(negatives, submitted),
    )


def _percent(part: int, whole: int) -> Fraction | None:
    return Fraction(100 * part, whole) if whole else None


@dataclass(frozen=True)
class Attendance:
    """Booked sessions in a window and how they ended (docs/outcomes.md: the
    percentage of booked sessions attended, Ledgerwood 2008). A late arrival
    attended; an excused session leaves the denominator, as an excused test does."""

    booked: int = 0
    attended: int = 0  # late arrivals included
    late: int = 0
    excused: int = 0
    missed: int = 0

    @property
    def percent_attended(self) -> Fraction | None:
        return _percent(self.attended, self.booked - self.excused)


def attendance(outcomes: Iterable[str]) -> Attendance:
    """Count booked sessions' outcomes: attended | late | excused | missed."""
    found = list(outcomes)
    late = found.count("late")
    return Attendance(
        booked=len(found),
        attended=found.count("attended") + late,
        late=late,
        excused=found.count("excused"),
        missed=found.count("missed"),
    )


def weeks_retained(contact_weeks: Iterable[int]) -> int:
    """Weeks retained: from the start to the enrollment week of the last specimen
    given or session attended (0 without any). Retention is measured to the last
    contact (docs/outcomes.md); CTNote reports the dropout week separately
    (rules.ctnote)."""
    return max(contact_weeks, default=0)


def completed(
    *,
    last_week: int,
    contact_weeks: Iterable[int],
    ended_in_window: bool,
    discharged_before_end: bool,
) -> bool:
    """The episode completed its course: its last scheduled week ended inside the
    report's window, the participant was not discharged before it, and gave a
    specimen or attended a booked session in that week (docs/outcomes.md: treatment
    completion is being retained to the end, not the calendar running out)."""
    if not ended_in_window or discharged_before_end:
        return False
    return last_week in set(contact_weeks)


@dataclass(frozen=True)
class Cost:
    """What an episode earned, the CM way (Petry 2004; docs/outcomes.md): vouchers
    earned (net of offsets: what the ledger holds) plus draws earned at the bowl's
    exact expected value, in exact cents."""

    voucher_cents: int
    draws: int
    draw_value_cents: Fraction  # the bowl's expected value of one draw

    @property
    def cents(self) -> Fraction:
        return self.voucher_cents + self.draws * self.draw_value_cents

    def per_negative(self, negatives: int) -> Fraction | None:
        return self.cents / negatives if negatives else None

    def share_of(self, maximum: Fraction) -> Fraction | None:
        """Earned value over the all-negative maximum of the episode's course."""
        return self.cents / maximum if maximum else None


def pooled_percent(parts: Iterable[tuple[int, int]]) -> Fraction | None:
    """100 x sum(numerators) / sum(denominators) over participants."""
    pairs = list(parts)
    return _percent(sum(p for p, _ in pairs), sum(w for _, w in pairs))
