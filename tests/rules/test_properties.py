"""Properties of the fold over random timelines of every preset (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cm_service.rules import (
    ProgramCaps,
    evaluate,
    expected_value_cents,
    load_preset,
    preset_keys,
    program_on,
    simulate_outcomes,
    theoretical_maximum,
    validate_spec,
)

from .builders import START, changed, facts, preset, timeline

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PRESETS = {key: preset(key) for key in preset_keys()}
TESTS = {key: len(theoretical_maximum(spec).tests) for key, spec in PRESETS.items()}
TOKENS = st.sampled_from("NNNNPMRE")
# An attendance-only protocol simulates sessions: attended, late, missed, excused.
SESSIONS = st.sampled_from("AAAALME")


def tokens_for(key, max_size=None):
    attendance_only = not any(p.testing_days for p in PRESETS[key].phases)
    alphabet = SESSIONS if attendance_only else TOKENS
    size = max_size or TESTS[key]
    return st.lists(alphabet, min_size=1, max_size=size).map(" ".join)


def paid_per_test(result):
    return [(t.cents, t.draws + t.bonus_draws, t.capped_cents) for t in result.tests]


@pytest.mark.parametrize("key", sorted(PRESETS))
@SETTINGS
@given(data=st.data())
def test_an_excused_test_never_changes_what_later_tests_pay(key, data):
    spec = PRESETS[key]
    tokens = data.draw(tokens_for(key, TESTS[key] - 2)).split()
    # Per-week escalation groups tests by week (two a week): excuse a whole week there.
    per_week = key == "petry-ctn-2005"
    positions = range(0, len(tokens) + 1, 2) if per_week else range(len(tokens) + 1)
    at = data.draw(st.sampled_from(list(positions)))
    inserted = ["E", "E"] if per_week else ["E"]

    before = paid_per_test(simulate_outcomes(spec, " ".join(tokens)))
    after = paid_per_test(
        simulate_outcomes(spec, " ".join([*tokens[:at], *inserted, *tokens[at:]]))
    )
    if any(phase.attendance and phase.testing_days for phase in spec.phases):
        # A combined protocol's sessions keep their weekdays while the inserted
        # test shifts the tokens: compare what the tests pay (the draws).
        before = [draws for _, draws, _ in before]
        after = [draws for _, draws, _ in after]
        assert after[at : at + len(inserted)] == [0] * len(inserted)
    else:
        assert after[at : at + len(inserted)] == [(0, 0, 0)] * len(inserted)

    assert after[:at] + after[at + len(inserted) :] == before


@pytest.mark.parametrize("key", sorted(PRESETS))
@SETTINGS
@given(data=st.data())
def test_amounts_are_non_negative_ints_keys_unique_and_evaluation_deterministic(
    key, data
):
    spec = PRESETS[key]
    events = timeline(spec, data.draw(tokens_for(key)))

    first = evaluate(spec, facts(), events, as_of=events[-1].on)
    again = evaluate(spec, facts(), list(reversed(events)), as_of=events[-1].on)

    assert first == again
    keys = [award.key for award in first.awards]
    assert len(keys) == len(set(keys))
    for award in first.awards:
        for value in (award.amount, award.cents, award.capped_cents):
            assert type(value) is int
            assert value >= 0
    assert first.total_cents == sum(a.cents for a in first.awards)


RESETS = ("higgins-1994", "va-prize-2014", "petry-ctn-2005", "ca-recovery-incentives")


@pytest.mark.parametrize("key", RESETS)
@SETTINGS
@given(data=st.data())
def test_a_reset_never_raises_the_value_of_the_next_negative(key, data):
    spec = PRESETS[key]
    prefix = data.draw(tokens_for(key, TESTS[key] - 2)).split()
    lapse = data.draw(st.sampled_from(sorted(spec.phases[0].specimen.reset_on)))
    token = {"positive": "P", "missed": "M", "refused": "R"}[lapse]

    before = _next_value(spec, prefix)
    after = _next_value(spec, [*prefix, token])

    assert after <= before
    assert after <= spec.phases[0].specimen.start


def _next_value(spec, tokens):
    events = timeline(spec, " ".join(tokens))
    upcoming = evaluate(spec, facts(), events, as_of=events[-1].on).next_negative
    return upcoming.points + upcoming.draws


RECOVERY = ("higgins-1994", "ca-recovery-incentives")


@pytest.mark.parametrize("key", RECOVERY)
@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_after_a_reset_the_level_never_exceeds_the_saved_level_plus_progress(key, data):
    spec = PRESETS[key]
    tokens = data.draw(st.lists(st.sampled_from("NNNNNP"), min_size=1, max_size=24))
    highest_before_reset, since_reset, previous = 0, None, 0
    for n in range(1, len(tokens) + 1):
        events = timeline(spec, " ".join(tokens[:n]))
        level = evaluate(spec, facts(), events, as_of=events[-1].on).level
        if tokens[n - 1] == "P":
            highest_before_reset = max(highest_before_reset, previous)
            since_reset = 0
        elif since_reset is not None:
            since_reset += 1
            assert level <= highest_before_reset + since_reset
        assert level <= n
        previous = level


CAP_VALUES = st.one_of(st.none(), st.integers(min_value=0, max_value=6000))


@st.composite
def capped_specs(draw):
    key = draw(st.sampled_from(sorted(PRESETS)))
    caps = {
        "per_test_cents": draw(CAP_VALUES),
        "per_week_cents": draw(CAP_VALUES),
        "per_month_cents": draw(CAP_VALUES),
        "per_enrollment_cents": draw(CAP_VALUES),
        "per_calendar_year_cents": draw(CAP_VALUES),
        "crossing": draw(st.sampled_from(["partial", "none"])),
        "count_draws_at_expected_value": True,
    }
    spec = validate_spec(changed(load_preset(key), caps=caps))
    return key, spec


@SETTINGS
@given(chosen=capped_specs(), data=st.data(), paid_before=st.integers(0, 3000))
def test_totals_never_exceed_any_cap(chosen, data, paid_before):
    key, spec = chosen
    enrollment = facts(year_paid_cents={2026: paid_before})
    events = timeline(spec, data.draw(tokens_for(key)))

    evaluation = evaluate(spec, enrollment, events, as_of=events[-1].on)

    for scope, totals in _money_by_window(spec, evaluation).items():
        limit = getattr(spec.caps, scope)
        if limit is None:
            continue
        for window, total in totals.items():
            already = paid_before if scope == "per_calendar_year_cents" else 0
            assert total <= max(limit - already, 0), (scope, window)


def _money_by_window(spec, evaluation):
    bowl = next(
        (
            s.bowl
            for p in spec.phases
            for s in (p.specimen, *p.attendance)
            if s and s.bowl
        ),
        (),
    )
    totals = defaultdict(lambda: defaultdict(Fraction))
    for award in evaluation.awards:
        money = Fraction(award.cents)
        if award.account == "draws":
            money = award.amount * expected_value_cents(bowl)
        iso = award.on.isocalendar()
        group = award.on if award.schedule == "specimen" else award.key
        windows = {
            "per_test_cents": group,
            "per_week_cents": (iso.year, iso.week),
            "per_month_cents": (award.on.year, award.on.month),
            "per_enrollment_cents": None,
            "per_calendar_year_cents": award.on.year,
        }
        for scope, window in windows.items():
            totals[scope][window] += money
    return totals


PROGRAM_CAPS = st.one_of(st.none(), st.integers(min_value=0, max_value=6000))


@SETTINGS
@given(
    chosen=capped_specs(),
    data=st.data(),
    switch=st.integers(0, 120),
    caps=st.lists(
        st.tuples(PROGRAM_CAPS, PROGRAM_CAPS, PROGRAM_CAPS), min_size=2, max_size=2
    ),
    elsewhere=st.integers(0, 3000),
)
def test_a_funding_programs_caps_hold_as_well_as_the_protocols(
    chosen, data, switch, caps, elsewhere
):
    # Two programs, the second from a random day (docs/funding.md); the second
    # one's year already holds `elsewhere` from another enrollment.
    key, spec = chosen
    change = START + timedelta(days=switch)
    programs = (
        ProgramCaps(1, "First", START, change - timedelta(days=1), *caps[0]),
        ProgramCaps(2, "Second", change, None, *caps[1]),
    )
    paid = {("program", 2, "year", y): elsewhere for y in (2026, 2027)}
    enrollment = facts(programs=programs, program_paid_cents=paid)
    events = timeline(spec, data.draw(tokens_for(key)))

    evaluation = evaluate(spec, enrollment, events, as_of=events[-1].on)

    for scope, totals in _money_by_window(spec, evaluation).items():
        limit = getattr(spec.caps, scope)
        for window, total in totals.items():
            assert limit is None or total <= limit, (scope, window)
    bowl = next(
        (
            s.bowl
            for p in spec.phases
            for s in (p.specimen, *p.attendance)
            if s and s.bowl
        ),
        (),
    )
    held = defaultdict(Fraction)
    for award in evaluation.awards:
        money = Fraction(award.cents)
        if award.account == "draws":
            money = award.amount * expected_value_cents(bowl)
        program = program_on(programs, award.on)
        if program is None:
            continue
        group = award.on if award.schedule == "specimen" else award.key
        held[(program.program, "award", group)] += money
        held[(program.program, "month", award.on.year, award.on.month)] += money
        held[(program.program, "year", award.on.year)] += money
    by_id = {p.program: p for p in programs}
    for window, total in held.items():
        program = by_id[window[0]]
        limit = {
            "award": program.per_award_cents,
            "month": program.per_month_cents,
            "year": program.per_calendar_year_cents,
        }[window[1]]
        already = elsewhere if window[0] == 2 and window[1] == "year" else 0
        assert limit is None or total <= max(limit - already, 0), (window, total)
