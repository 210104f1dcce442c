"""Settlement under random corrections (hypothesis): the protocol spec's invariants.

Random histories on every preset and on capped variants, then random corrections
(void, identical re-entry, a late result for a missed day, a backdated positive, a
duplicate entry, an exemption added later), settling after each step against a
ledger kept here as award key -> amount. After every step:
- no_clawback: each account's posted total is max(clean fold, posted before);
- clawback: the ledger equals the clean fold, key by key;
- every cap window's posted awards are within its cap, the funding programs'
  (docs/funding.md) as well as the protocol's;
- a second settle posts nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cm_service.rules import (
    Exemption,
    Fact,
    Held,
    LedgerRow,
    ProgramCaps,
    evaluate,
    ledger_windows,
    preset_keys,
    scheduled_days,
    settle_awards,
    unit_value,
)

from .builders import changed, facts, load_preset, preset, validate_spec

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FAR = date(2028, 1, 1)
HIGGINS = load_preset("higgins-1994")
SPECS = {key: preset(key) for key in preset_keys()}
SPECS |= {
    "higgins-week-cap": validate_spec(changed(HIGGINS, caps__per_week_cents=1500)),
    "higgins-month-cap": validate_spec(changed(HIGGINS, caps__per_month_cents=4000)),
    "higgins-test-cap-none": validate_spec(
        changed(HIGGINS, caps__per_test_cents=500, caps__crossing="none")
    ),
    "higgins-enrollment-cap": validate_spec(
        changed(HIGGINS, caps__per_enrollment_cents=6000)
    ),
    "higgins-clawback": validate_spec(changed(HIGGINS, corrections="clawback")),
    "ca-clawback": validate_spec(
        changed(load_preset("ca-recovery-incentives"), corrections="clawback")
    ),
    "va-draws-capped": validate_spec(
        changed(
            load_preset("va-prize-2014"),
            caps__count_draws_at_expected_value=True,
            caps__per_week_cents=2500,
        )
    ),
}
STARTS = st.sampled_from([date(2026, 1, 5), date(2026, 11, 2), date(2026, 12, 14)])
TOKENS = st.sampled_from("NNNNNPMRE_A")
CORRECTIONS = st.sampled_from(
    ["void", "reenter", "late", "backdated_positive", "duplicate", "exemption"]
)


class World:
    """One enrollment's events and ledger, settled as the service settles."""

    def __init__(self, spec, start, tokens, programs=(), paid_elsewhere=None):
        self.spec = spec
        self.facts = facts(
            start_on=start,
            programs=programs,
            program_paid_cents=paid_elsewhere or {},
        )
        self.days = scheduled_days(spec, self.facts, start, FAR)[: len(tokens)]
        self.ids = iter(range(1, 10_000))
        self.events = []
        self.voided = []
        for on, token in zip(self.days, tokens, strict=False):
            self.events += self.token_events(on, token)
        self.held: dict[str, Held] = {}

    def token_events(self, on, token):
        targets = self.spec.targets.substances
        if token in "NP":
            result = "negative" if token == "N" else "positive"
            return [
                Fact(next(self.ids), "specimen", on, dict.fromkeys(targets, result))
            ]
        if token == "R":
            return [Fact(next(self.ids), "specimen", on, refused=True)]
        if token == "A":
            return [Fact(next(self.ids), "attendance", on, session_type="group")]
        if token in "ME":
            return [Fact(next(self.ids), {"M": "missed", "E": "excused"}[token], on)]
        return []

    def correct(self, what, pick):
        if what == "void" and self.events:
            self.voided.append(self.events.pop(pick % len(self.events)))
        elif what == "reenter" and self.voided:
            self.events.append(replace(self.voided.pop(), event_id=next(self.ids)))
        elif what == "late":
            missed = [e for e in self.events if e.kind == "missed"]
            if missed:
                gone = missed[pick % len(missed)]
                self.events.remove(gone)
                self.events += self.token_events(gone.on, "N")
        elif what == "backdated_positive" and self.days:
            self.events += self.token_events(self.days[pick % len(self.days)], "P")
        elif what == "duplicate" and self.events:
            self.events.append(
                replace(self.events[pick % len(self.events)], event_id=next(self.ids))
            )
        elif what == "exemption" and self.days:
            since = self.days[pick % len(self.days)]
            analyte = self.spec.targets.substances[0]
            exemption = Exemption(analyte, since, note="prescribed")
            self.facts = replace(self.facts, exemptions=(exemption,))

    def fold(self):
        return evaluate(self.spec, self.facts, self.events, as_of=FAR).awards

    def rows(self):
        return [LedgerRow(k, h.on, h.account, h.amount) for k, h in self.held.items()]

    def used(self):
        return ledger_windows(
            self.spec,
            self.rows(),
            enrollment_cents=sum(
                (
                    r.amount * (unit_value(self.spec, r.account) or 0)
                    for r in self.rows()
                ),
                0,
            ),
            year_paid_elsewhere={},
            programs=self.facts.programs,
            program_paid_elsewhere=self.facts.program_paid_cents,
        )

    def settle(self):
        settlement = settle_awards(
            self.spec,
            self.fold(),
            self.held,
            used=self.used(),
            programs=self.facts.programs,
        )
        for p in settlement.postings:
            have = self.held.get(p.key, Held(p.account, 0, 0, p.on))
            assert p.nth == have.entries
            self.held[p.key] = Held(
                p.account, have.amount + p.amount, have.entries + 1, p.on
            )
        return settlement

    def totals(self):
        sums = defaultdict(int)
        for h in self.held.values():
            sums[h.account] += h.amount
        return sums


def fold_totals(awards):
    sums = defaultdict(int)
    for a in awards:
        sums[a.account] += a.amount
    return sums


def assert_invariants(world, before):
    spec = world.spec
    clean = world.fold()
    after = world.totals()
    if spec.corrections == "clawback":
        desired = {a.key: a.amount for a in clean if a.amount}
        held = {k: h.amount for k, h in world.held.items() if h.amount}
        assert held == desired
    else:
        for account in ("points", "draws"):
            want = max(fold_totals(clean)[account], before[account])
            assert after[account] == want, (account, after, before)
    caps = spec.caps
    scope_of = {
        "test": "per_test_cents",
        "week": "per_week_cents",
        "month": "per_month_cents",
        "year": "per_calendar_year_cents",
        "enrollment": "per_enrollment_cents",
    }
    programs = {p.program: p for p in world.facts.programs}
    program_scopes = {
        "award": "per_award_cents",
        "month": "per_month_cents",
        "year": "per_calendar_year_cents",
    }
    for window, money in world.used().items():
        if window[0] == "program":
            limit = getattr(programs[window[1]], program_scopes[window[2]])
        else:
            limit = getattr(caps, scope_of[window[0]])
        assert limit is None or money <= limit, (window, money, limit)
    assert world.settle().postings == ()  # a second settle posts nothing


@pytest.mark.parametrize("key", sorted(SPECS))
@SETTINGS
@given(
    start=STARTS,
    tokens=st.lists(TOKENS, min_size=1, max_size=40),
    corrections=st.lists(st.tuples(CORRECTIONS, st.integers(0, 999)), max_size=8),
)
def test_corrections_never_pay_twice_nor_break_a_cap(key, start, tokens, corrections):
    world = World(SPECS[key], start, tokens)
    before = world.totals()
    world.settle()
    assert_invariants(world, before)
    for what, pick in corrections:
        world.correct(what, pick)
        before = world.totals()
        world.settle()
        assert_invariants(world, before)


def test_the_ledger_cap_holds_when_the_offset_is_withheld_in_another_week():
    # Higgins with a $15 week cap: E N M N N, then the missed Friday's result
    # arrives (negative). The corrected history earns $15.00 in week 3 (Mon 20
    # points + the 40-point bonus, Wed capped to nothing) and owes Friday 15
    # points in week 2. Withholding the Wednesday excess from Friday alone would
    # pay $12.50 more into week 3, which already holds $6.25: $18.75 > $15. The
    # ledger's cap pays what fits and releases the withheld Friday instead.
    world = World(SPECS["higgins-week-cap"], date(2026, 1, 5), list("ENMNN"))
    world.settle()
    before = world.totals()

    world.correct("late", 0)
    world.settle()

    assert world.used()[("week", 2026, 3)] == 1500
    assert world.totals()["points"] == max(85, before["points"]) == 85
    assert_invariants(world, before)


# Two programs, the second from 1 January 2027 and already paying the participant
# in another enrollment: an OIG-style program (under $5 an award, $40 a month) then
# a year-capped one ($60 a year, $20 of it paid elsewhere).
PROGRAMS = (
    ProgramCaps(1, "AO 22-04", date(2026, 1, 1), date(2026, 12, 31), 499, 4000, None),
    ProgramCaps(2, "Grant", date(2027, 1, 1), None, None, None, 6000),
)
ELSEWHERE = {("program", 2, "year", 2027): 2000}
PROGRAM_SPECS = [
    "higgins-1994",
    "va-prize-2014",  # draws count for a program at their expected value
    "ca-recovery-incentives",
    "higgins-clawback",
    "higgins-week-cap",
    "va-draws-capped",
]


@pytest.mark.parametrize("key", PROGRAM_SPECS)
@SETTINGS
@given(
    start=STARTS,
    tokens=st.lists(TOKENS, min_size=1, max_size=40),
    corrections=st.lists(st.tuples(CORRECTIONS, st.integers(0, 999)), max_size=8),
)
def test_corrections_never_break_a_funding_programs_cap(
    key, start, tokens, corrections
):
    world = World(SPECS[key], start, tokens, PROGRAMS, ELSEWHERE)
    before = world.totals()
    world.settle()
    assert_invariants(world, before)
    for what, pick in corrections:
        world.correct(what, pick)
        before = world.totals()
        world.settle()
        assert_invariants(world, before)
