"""The fast paths of the fold give what the plain path gives (issue 19): the
simulator's kept day rows, records made when read, the calendar cache."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import pytest

from cm_service.rules import (
    evaluate,
    preset_keys,
    scheduled_days,
    simulate_cohort,
    simulate_outcomes,
)
from cm_service.rules.messages import english
from cm_service.rules.simulate import _events, _simulated

from .builders import facts, preset

KEYS = sorted(preset_keys())


@pytest.mark.parametrize("key", KEYS)
def test_a_simulation_evaluates_what_evaluate_gives_for_its_events(key):
    spec = preset(key)
    rng = random.Random(key)
    for start in (date(2026, 1, 5), date(2026, 11, 30)):
        simulated, days, alphabet, _ = _simulated(spec, start, None)
        letters = "".join(alphabet)
        for _ in range(15):
            count = rng.randrange(1, len(days) + 1)
            tokens = " ".join(rng.choice(letters) for _ in range(count))
            # Twice: the second run reads the rows the first one kept.
            for _ in range(2):
                result = simulate_outcomes(spec, tokens, start)
                events = [
                    event
                    for n, (on, code) in enumerate(
                        zip(days, tokens.split(), strict=False), start=1
                    )
                    for event in _plain_events(spec, simulated, n, on, code, alphabet)
                ]
                plain = evaluate(spec, simulated, events, as_of=days[count - 1])
                assert result.evaluation == plain
                assert [t.rules for t in result.tests] == [
                    tuple(a.rule for a in plain.awards if a.on == on)
                    for on in days[:count]
                ]


def _plain_events(spec, simulated, n, on, code, alphabet):
    return _events(spec, simulated, n, on, code, alphabet)


@pytest.mark.parametrize("key", KEYS)
def test_records_made_when_read_equal_records_made_at_once(key):
    spec = preset(key)
    _, days, alphabet, _ = _simulated(spec, date(2026, 1, 5), None)
    best = next(iter(alphabet))  # N, or A for sessions
    result = simulate_outcomes(spec, " ".join([best] * (len(days) // 2)))
    evaluation = result.evaluation

    copied = replace(evaluation)  # reads every field, makes them through __init__
    assert copied == evaluation
    assert copied.awards == evaluation.awards
    assert hash(copied.awards) == hash(evaluation.awards)
    for award in evaluation.awards:
        again = replace(award)
        assert again == award
        assert again.rule == award.rule == english(award.why)
    assert evaluation.next_negative.explanation == english(evaluation.next_negative.why)
    with pytest.raises(AttributeError):
        evaluation.no_such_field  # noqa: B018


def test_the_calendar_follows_a_discharge_and_testing_days_of_the_enrollment():
    spec = preset("ca-recovery-incentives")
    start = date(2026, 1, 5)
    plain = facts(start_on=start)
    discharged = facts(start_on=start, ends_on=start + timedelta(days=20))
    moved = facts(start_on=start, testing_days={0: (1, 4)})
    far = date(2100, 1, 1)

    assert len(scheduled_days(spec, plain, start, far)) == 36
    assert scheduled_days(spec, discharged, start, far) == [
        d for d in scheduled_days(spec, plain, start, far) if d <= discharged.ends_on
    ]
    assert scheduled_days(spec, moved, start, start + timedelta(days=6)) == [
        start + timedelta(days=1),
        start + timedelta(days=4),
    ]


@pytest.mark.parametrize("key", KEYS)
def test_a_cohorts_costs_are_its_timelines_simulated_one_by_one(key):
    spec = preset(key)
    start = date(2026, 11, 30)  # the cohort meets a calendar year's cap twice
    cohort = simulate_cohort(spec, 25, "3/4", 11, start)

    rng = random.Random(11)
    _, days, alphabet, _ = _simulated(spec, start, None)
    hit, miss = ("A", "M") if "A" in alphabet else ("N", "P")
    costs = []
    for _ in range(25):
        codes = [hit if rng.randrange(4) < 3 else miss for _ in days]
        costs.append(simulate_outcomes(spec, " ".join(codes), start).cost_cents)
    assert cohort.costs_cents == tuple(costs)
