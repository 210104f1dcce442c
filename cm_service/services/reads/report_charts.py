"""The series behind the outcome report's charts, computed from an OutcomeReport.

Read-only and exact: every value is a count pair or a Fraction; rounding happens
where the page shows it. Protocols are named as in `report_exports.by_protocol`
("key vN"), so a chart and the by-protocol table always agree on the grouping.
The one database read is each episode's course length (its protocol's last
week), which the report's episodes do not carry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from .reports import Episode, OutcomeReport

CLINIC = "All protocols"


@dataclass(frozen=True)
class Rate:
    """`part` of `whole`, e.g. 4 negatives of 5 counted tests."""

    part: int
    whole: int

    @property
    def percent(self) -> Fraction | None:
        return Fraction(100 * self.part, self.whole) if self.whole else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.part + other.part, self.whole + other.whole)


@dataclass(frozen=True)
class CostPerNegative:
    cents: Fraction  # what the protocol's episodes earned, the CM way
    negatives: int

    @property
    def per_negative(self) -> Fraction | None:
        return self.cents / self.negatives if self.negatives else None


Weekly = dict[str, dict[int, Rate]]  # series name -> enrolment week -> rate


@dataclass(frozen=True)
class ReportSeries:
    negative_by_week: Weekly
    retention_by_week: Weekly
    cost_per_negative: dict[str, CostPerNegative]
    attendance: dict[str, Rate]


def series_of(report: OutcomeReport) -> ReportSeries:
    return ReportSeries(
        negative_by_week=negative_by_week(report),
        retention_by_week=retention_by_week(report, course_weeks(report)),
        cost_per_negative=cost_per_negative(report),
        attendance=attendance(report),
    )


def _by_protocol(episodes: Iterable[Episode]) -> dict[str, list[Episode]]:
    groups: dict[str, list[Episode]] = defaultdict(list)
    for episode in episodes:
        groups[episode.protocol].append(episode)
    return dict(sorted(groups.items()))


def negative_by_week(report: OutcomeReport) -> Weekly:
    """Per protocol, per enrolment week: negatives / (scheduled - excused), pooled
    over that week's scheduled tests of all the protocol's episodes in the window;
    and for all protocols together when several schedule tests.

    The page's "% negative of scheduled" by week: a missed, refused or pending
    (recollect) test counts against, an excused one leaves the denominator. A week
    whose tests were all excused has the rate 0 of 0 (no percentage). Protocols
    that schedule no tests (attendance only) have no series.
    """
    found = {
        name: _negatives(episodes)
        for name, episodes in _by_protocol(report.tested).items()
    }
    if len(found) > 1:
        return {CLINIC: _negatives(report.tested), **found}
    return found


def _negatives(episodes: Sequence[Episode]) -> dict[int, Rate]:
    weeks: dict[int, Rate] = defaultdict(lambda: Rate(0, 0))
    for test in (t for e in episodes for t in e.tests):
        counted = test.outcome != "excused"
        weeks[test.week] += Rate(int(test.outcome == "negative"), int(counted))
    return dict(sorted(weeks.items()))


def course_weeks(report: OutcomeReport) -> dict[int, int]:
    """Each episode's course length in weeks, by enrollment id."""
    return {e.enrollment_id: e.course_weeks for e in report.episodes}


def retention_by_week(report: OutcomeReport, course_weeks: Mapping[int, int]) -> Weekly:
    """Per protocol, and for all protocols together when there are several: the
    share of episodes still retained at enrolment week w.

    Retained at week w: the episode's last specimen or attended session fell in
    week w or later (`weeks_retained >= w`). The denominator for week w is the
    episodes whose measured window reaches the whole of week w: the week is part
    of the episode's course (w <= its protocol's last week) and ended on or before
    the report's as-of day. So a week still under way, or a week after a 12-week
    course, does not count anyone as lost; an episode discharged early stays in
    the denominator of its course's later weeks, as not retained.
    """
    weekly = {
        name: _retention(episodes, course_weeks, report)
        for name, episodes in _by_protocol(report.episodes).items()
    }
    if len(weekly) > 1:
        return {CLINIC: _retention(report.episodes, course_weeks, report), **weekly}
    return weekly


def _retention(
    episodes: Sequence[Episode], course_weeks: Mapping[int, int], report: OutcomeReport
) -> dict[int, Rate]:
    weeks: dict[int, Rate] = defaultdict(lambda: Rate(0, 0))
    for episode in episodes:
        for week in range(1, _weeks_reached(episode, course_weeks, report) + 1):
            weeks[week] += Rate(int(episode.weeks_retained >= week), 1)
    return dict(sorted(weeks.items()))


def _weeks_reached(
    episode: Episode, course_weeks: Mapping[int, int], report: OutcomeReport
) -> int:
    """The enrolment weeks of the course that had ended by the as-of day."""
    elapsed = (report.as_of - episode.start_on + timedelta(days=1)).days // 7
    return max(0, min(elapsed, course_weeks.get(episode.enrollment_id, 0)))


def cost_per_negative(report: OutcomeReport) -> dict[str, CostPerNegative]:
    """Per protocol that schedules tests: what its episodes earned (vouchers plus
    draws at the bowl's expected value) over their negative tests, exactly the
    by-protocol table's cost per negative before rounding.

    With more than one such protocol, "All protocols" comes first and is the
    clinic summary's figure: what the episodes with tests earned over their
    negative tests (attendance-only episodes have no negatives to divide by).
    """
    found = {
        name: _cost(episodes) for name, episodes in _by_protocol(report.tested).items()
    }
    if len(found) > 1:
        return {CLINIC: _cost(report.tested), **found}
    return found


def _cost(episodes: Sequence[Episode]) -> CostPerNegative:
    return CostPerNegative(
        cents=sum((e.cost.cents for e in episodes), Fraction(0)),
        negatives=sum(e.measures.negatives for e in episodes if e.measures),
    )


def attendance(report: OutcomeReport) -> dict[str, Rate]:
    """Per protocol with booked sessions: attended (late included) over booked
    minus excused, pooled over its episodes (Ledgerwood et al. 2008)."""
    found: dict[str, Rate] = {}
    for name, episodes in _by_protocol(report.episodes).items():
        booked = sum(e.attendance.booked for e in episodes)
        if booked:
            found[name] = Rate(
                sum(e.attendance.attended for e in episodes),
                booked - sum(e.attendance.excused for e in episodes),
            )
    return found
