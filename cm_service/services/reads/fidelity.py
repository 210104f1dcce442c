"""Fidelity from the data: is CM delivered as the protocol intends?

CM works when the reward follows the behaviour at once, every time (Petry 2000; the
VA's fidelity monitoring, DePhilippis 2018). The records already say how far that
holds, per staff member and per ISO week of the visit:

- minutes from recording a result to its award being posted (median), and the share
  of awards posted on the day the specimen was collected;
- the share of earned prize draws made on the day they were earned;
- manual adjustments as a share of awards (a high share means the protocol is being
  worked around);
- per week for the clinic: the share of scheduled tests collected (not missed).

Read-only; the dates are clinic-local.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ...extensions import db
from ...models import Clinic, Draw, Event, EventVoid, LedgerEntry, User
from ..access.actors import Actor
from ..cm.timeline import not_null
from ..errors import InvalidInput
from ..validation import check_date
from .reports import READERS, OutcomeReport

AWARD_KINDS = ("award", "bonus")
VISIT_KINDS = ("specimen", "breath", "attendance")


def iso_week(on: date) -> str:
    year, week, _ = on.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class StaffWeek:
    """One staff member's visits in one ISO week and how CM was delivered."""

    staff: str
    week: str
    visits: int = 0
    awards: int = 0
    minutes: list[int] = field(default_factory=list)
    same_day: int = 0
    draws_earned: int = 0
    draws_same_day: int = 0
    adjustments: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "staff": self.staff,
            "week": self.week,
            "visits": self.visits,
            "awards": self.awards,
            "median_minutes_to_award": median(self.minutes) if self.minutes else None,
            "percent_awarded_same_day": _percent(self.same_day, self.awards),
            "draws_earned": self.draws_earned,
            "percent_draws_made_same_day": _percent(
                self.draws_same_day, self.draws_earned
            ),
            "manual_adjustments": self.adjustments,
            "adjustments_per_100_awards": _percent(self.adjustments, self.awards),
        }


def _percent(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float(round(Fraction(100 * part, whole), 1))


def fidelity(
    actor: Actor, start: date, end: date, *, report: OutcomeReport | None = None
) -> dict[str, list[dict[str, object]]]:
    """Per staff member and week, and per week for the clinic (tests collected,
    from the outcome report's scheduled tests when given)."""
    actor.require(*READERS)
    check_date("from", start)
    check_date("to", end)
    if end < start:
        raise InvalidInput("to", "Give a window with from <= to.")
    clinic = db.session.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise InvalidInput("clinic", "Reports are per clinic.")
    zone = ZoneInfo(clinic.timezone)
    rows: dict[tuple[str, str], StaffWeek] = {}

    def row(staff: str, on: date) -> StaffWeek:
        key = (staff, iso_week(on))
        return rows.setdefault(key, StaffWeek(*key))

    names = _names(clinic.id)
    _visits(clinic.id, start, end, zone, names, row)
    _adjustments(clinic.id, start, end, names, row)
    return {
        "staff_weeks": [r.as_dict() for _, r in sorted(rows.items())],
        "clinic_weeks": _collected(report) if report else [],
    }


def _names(clinic_id: int) -> dict[int | None, str]:
    users = db.session.execute(
        select(User.id, User.username).where(User.clinic_id == clinic_id)
    )
    return {None: "(system or import)", **dict(users.all())}


def _visits(
    clinic_id: int,
    start: date,
    end: date,
    zone: ZoneInfo,
    names: dict[int | None, str],
    row: Callable[[str, date], StaffWeek],
) -> None:
    """Awards per visit: how fast, the same day or not, and draws made that day."""
    events = db.session.execute(
        select(Event.id, Event.recorded_by_id, Event.collected_on, Event.recorded_at)
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(
            Event.clinic_id == clinic_id,
            Event.kind.in_(VISIT_KINDS),
            Event.collected_on.between(start, end),
            EventVoid.id.is_(None),
        )
    ).all()
    awards = _awards_by_event([e.id for e in events])
    drawn = _draws_made(clinic_id, start, end, zone)
    for event_id, by, on, recorded_at in events:
        staff = row(names.get(by, "(unknown)"), on)
        staff.visits += 1
        for posted_at, account, amount, participant_id in awards.get(event_id, []):
            staff.awards += 1
            staff.minutes.append(int((posted_at - recorded_at).total_seconds() // 60))
            staff.same_day += posted_at.astimezone(zone).date() == on
            if account == "draws":
                staff.draws_earned += amount
                made = drawn[(participant_id, on)]
                taken = min(made, amount)
                drawn[(participant_id, on)] -= taken
                staff.draws_same_day += taken


def _awards_by_event(
    event_ids: list[int],
) -> dict[int, list[tuple[datetime, str, int, int]]]:
    found: dict[int, list[tuple[datetime, str, int, int]]] = defaultdict(list)
    for chunk in _chunks(event_ids):
        rows = db.session.execute(
            select(
                LedgerEntry.event_id,
                LedgerEntry.posted_at,
                LedgerEntry.account,
                LedgerEntry.amount,
                LedgerEntry.participant_id,
            ).where(
                LedgerEntry.event_id.in_(chunk),
                LedgerEntry.kind.in_(AWARD_KINDS),
                LedgerEntry.amount > 0,
            )
        )
        for event_id, posted_at, account, amount, participant_id in rows:
            found[not_null(event_id)].append(
                (posted_at, account, amount, participant_id)
            )
    return found


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _draws_made(
    clinic_id: int, start: date, end: date, zone: ZoneInfo
) -> dict[tuple[int, date], int]:
    """Draws made per participant and clinic-local day."""
    made: dict[tuple[int, date], int] = defaultdict(int)
    rows = db.session.execute(
        select(Draw.participant_id, Draw.drawn_at).where(Draw.clinic_id == clinic_id)
    )
    for participant_id, drawn_at in rows:
        on = drawn_at.astimezone(zone).date()
        if start <= on <= end:
            made[(participant_id, on)] += 1
    return made


def _adjustments(
    clinic_id: int,
    start: date,
    end: date,
    names: dict[int | None, str],
    row: Callable[[str, date], StaffWeek],
) -> None:
    # A manual adjustment has no award key (settle's own corrections have one).
    rows = db.session.execute(
        select(LedgerEntry.posted_by_id, LedgerEntry.on).where(
            LedgerEntry.clinic_id == clinic_id,
            LedgerEntry.kind == "adjustment",
            LedgerEntry.award_key.is_(None),
            LedgerEntry.on.between(start, end),
        )
    )
    for by, on in rows:
        row(names.get(by, "(unknown)"), not_null(on)).adjustments += 1


def _collected(report: OutcomeReport) -> list[dict[str, object]]:
    """Per ISO week: scheduled tests (excused left out) and the share collected."""
    weeks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for episode in report.episodes:
        for test in episode.tests:
            if test.outcome == "excused":
                continue
            counts = weeks[iso_week(test.on)]
            counts[0] += 1
            counts[1] += test.outcome != "missed"
    return [
        {
            "week": week,
            "tests_scheduled": scheduled,
            "percent_tests_collected": _percent(collected, scheduled),
        }
        for week, (scheduled, collected) in sorted(weeks.items())
    ]
