"""Settle under random corrections through the services, on both databases
(hypothesis): what the staff pages and the API do, checked against the ledger.

Each example registers a new participant on a random preset, records a random
history, then applies random corrections (void, identical re-entry, a late result
for a missed day, a backdated positive, a duplicate entry, an exemption added later)
and the nightly job. After every step: under no_clawback each account's posted
total is max(clean fold of the current history, posted before); every cap window
of the ledger is within its cap (a funding program's too, when the enrollment is
funded: docs/funding.md); a second settle and a reconciliation post nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import Event, EventVoid, LedgerEntry
from cm_service.services.cm import (
    appointments,
    checkins,
    exemptions,
    funding,
    ledger,
    nightly,
)
from cm_service.services.cm.evaluation import evaluate_history
from cm_service.services.cm.timeline import clinic_today, load_timeline
from tests.support.factories import make_enrolled, make_staff

PRESETS = [
    "higgins-1994",
    "ca-recovery-incentives",
    "va-prize-2014",
    "attendance-prize",
]
CODES = count(1)
STEPS = st.sampled_from(
    [
        "N",
        "N",
        "N",
        "P",
        "R",
        "void",
        "reenter",
        "late",
        "backdated",
        "duplicate",
        "night",
    ]
)
SCOPES = {
    "test": "per_test_cents",
    "week": "per_week_cents",
    "month": "per_month_cents",
    "year": "per_calendar_year_cents",
    "enrollment": "per_enrollment_cents",
}

PROGRAM_SCOPES = {
    "award": "per_award_cents",
    "month": "per_month_cents",
    "year": "per_calendar_year_cents",
}


def at(clinic, day: date) -> datetime:
    return datetime.combine(day, time(14), ZoneInfo(clinic.timezone))


def totals(enrollment_id: int) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for account, amount in db.session.execute(
        select(LedgerEntry.account, LedgerEntry.amount).where(
            LedgerEntry.enrollment_id == enrollment_id,
            LedgerEntry.award_key.is_not(None),
        )
    ):
        sums[account] += amount
    return sums


def live(enrollment_id: int) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(Event.enrollment_id == enrollment_id, EventVoid.id.is_(None))
            .order_by(Event.id)
        )
    )


class Clinic:
    def __init__(self, staff, clinic, key, start, funded=False):
        self.staff, self.clinic = staff, clinic
        code = f"H-{next(CODES):05d}"
        self.person, self.enrollment = make_enrolled(staff, clinic, key, code, start)
        if funded:
            # Under $5 an award, $20 a month, $50 a year (an OIG-style program).
            admin = make_staff(clinic, f"admin-{code}", "admin")
            program = funding.add_program(
                admin,
                f"Fund {code}",
                per_award_cents=499,
                per_month_cents=2000,
                per_year_cents=5000,
                non_cash_only=False,
                source="",
                now=at(clinic, start),
            )
            funding.assign(
                staff,
                self.enrollment.id,
                program.id,
                start,
                None,
                now=at(clinic, start),
            )
        spec = load_timeline(self.enrollment).spec
        self.spec = spec
        facts, end = load_timeline(self.enrollment).facts, start + timedelta(weeks=8)
        # An attendance-only protocol schedules no tests: its sessions' days.
        self.days = rules.scheduled_days(spec, facts, start, end) or rules.session_days(
            spec, facts, start, end
        )
        self.next = 0
        self.exempt = False
        self.voided: list[Event] = []
        if any(s.scheduled for s in spec.phases[0].attendance):
            # Sessions by appointment: book the group's weekly meetings.
            for first in self.days[:2]:
                appointments.book(
                    staff,
                    self.person.id,
                    "group",
                    first,
                    time(10),
                    weekly=True,
                    now=at(clinic, start),
                )

    @property
    def now(self) -> datetime:
        return at(self.clinic, self.days[max(self.next - 1, 0)] + timedelta(days=1))

    def results(self, value: str) -> dict[str, str]:
        return dict.fromkeys(self.spec.targets.substances, value)

    def record(self, on: date, token: str) -> None:
        pid = self.person.id
        if self.spec.phases[0].attendance and token == "N":
            checkins.record_attendance(self.staff, pid, on, "group", now=self.now)
        elif token == "R":
            checkins.record_specimen(
                self.staff, pid, on, {}, refused=True, now=self.now
            )
        else:
            value = "negative" if token == "N" else "positive"
            checkins.record_specimen(
                self.staff, pid, on, self.results(value), now=self.now
            )

    def step(self, what: str, pick: int) -> None:
        events = [e for e in live(self.enrollment.id) if e.kind != "missed"]
        if what in ("N", "P", "R") and self.next < len(self.days):
            self.next += 1
            self.record(self.days[self.next - 1], what)
        elif what == "void" and events:
            event = events[pick % len(events)]
            checkins.void_event(self.staff, event.id, "Wrong cup", now=self.now)
            self.voided.append(event)
        elif what == "reenter" and self.voided:
            gone = self.voided.pop()
            token = (
                "R"
                if gone.refused
                else "P"
                if "positive" in gone.results.values()
                else "N"
            )
            self.record(gone.collected_on, token)
        elif what == "late":
            missed = [e for e in live(self.enrollment.id) if e.kind == "missed"]
            if missed:
                self.record(missed[pick % len(missed)].collected_on, "N")
        elif what == "backdated" and self.next:
            self.record(self.days[pick % self.next], "P")
        elif what == "duplicate" and events:
            event = events[pick % len(events)]
            if event.kind == "attendance":
                self.record(event.collected_on, "N")
        elif what == "exemption" and self.next and not self.exempt:
            self.exempt = True
            since = self.days[pick % self.next]
            analyte = self.spec.targets.substances[0]
            exemptions.add_exemption(
                self.staff, self.person.id, analyte, "prescribed", since, now=self.now
            )
        elif what == "night" and self.next:
            nightly.run_due(self.now, clinic_id=self.clinic.id)

    def check(self, before: dict[str, int]) -> None:
        today = clinic_today(self.clinic, self.now)
        clean = evaluate_history(self.enrollment, today).awards
        fold: dict[str, int] = defaultdict(int)
        for award in clean:
            fold[award.account] += award.amount
        after = totals(self.enrollment.id)
        for account in ("points", "draws"):
            assert after[account] == max(fold[account], before[account]), account
        rows = [
            rules.LedgerRow(key, on, account, amount)
            for key, on, account, amount in db.session.execute(
                select(
                    LedgerEntry.award_key,
                    LedgerEntry.on,
                    LedgerEntry.account,
                    LedgerEntry.amount,
                ).where(
                    LedgerEntry.enrollment_id == self.enrollment.id,
                    LedgerEntry.award_key.is_not(None),
                )
            )
        ]
        money = sum(
            r.amount * (rules.unit_value(self.spec, r.account) or 0) for r in rows
        )
        programs = load_timeline(self.enrollment).facts.programs
        used = rules.ledger_windows(
            self.spec,
            rows,
            enrollment_cents=money,
            year_paid_elsewhere={},
            programs=programs,
        )
        for window, cents in used.items():
            if window[0] == "program":
                limit = getattr(programs[0], PROGRAM_SCOPES[window[2]])
            else:
                limit = getattr(self.spec.caps, SCOPES[window[0]])
            assert limit is None or cents <= limit, (window, cents)
        assert ledger.settle_many([self.enrollment], now=self.now) == []
        assert ledger.settle_many([self.enrollment], now=self.now, resume=False) == []
        db.session.rollback()


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    key=st.sampled_from(PRESETS),
    start=st.sampled_from([date(2026, 1, 5), date(2026, 12, 7)]),
    steps=st.lists(st.tuples(STEPS, st.integers(0, 99)), min_size=4, max_size=24),
    funded=st.booleans(),
)
def test_settling_after_every_correction_keeps_the_ledger_invariants(
    staff, clinic, key, start, steps, funded
):
    world = Clinic(staff, clinic, key, start, funded)
    for what, pick in steps:
        before = totals(world.enrollment.id)
        world.step(what, pick)
        world.check(before)
