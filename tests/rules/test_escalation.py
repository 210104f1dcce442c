"""The escalation state machine of docs/protocol-spec.md "Meaning", step by step."""

from __future__ import annotations

import pytest

from cm_service.rules import Bonus, Schedule, Streak
from cm_service.rules.escalation import (
    after_clean_week,
    after_negative,
    after_reset,
    bonus_due,
    resets,
)

HIGGINS = Schedule(
    type="escalating",
    start=10,
    step=5,
    bonus=Bonus(every=3, amount=40),
    reset_on=frozenset({"positive", "missed", "refused"}),
    recovery_after=5,
)
WEEKLY = Schedule(type="prize_draws", start=1, step=1, per="week", reset_on=frozenset())


@pytest.mark.parametrize(
    ("schedule", "level", "value"),
    [
        (HIGGINS, 0, 10),
        (HIGGINS, 7, 45),
        (Schedule(type="escalating", start=20, step=3, max=53), 11, 53),
        (Schedule(type="escalating", start=20, step=3, max=53), 10, 50),
        (Schedule(type="fixed", amount=40), 9, 40),
    ],
)
def test_the_value_is_start_plus_step_times_level_up_to_the_maximum(
    schedule, level, value
):
    assert schedule.value(level) == value


@pytest.mark.parametrize(
    ("before", "after", "restored_to"),
    [
        (Streak(), Streak(level=1, run=1, longest=1), None),
        (Streak(level=4, run=4, longest=9), Streak(level=5, run=5, longest=9), None),
        # Recovery: the 5th negative since the reset restores the saved level.
        (
            Streak(level=3, run=3, saved=6, since_reset=4, longest=6),
            Streak(level=6, run=4, saved=None, since_reset=5, longest=6),
            6,
        ),
        (
            Streak(level=1, run=1, saved=6, since_reset=1, longest=6),
            Streak(level=2, run=2, saved=6, since_reset=2, longest=6),
            None,
        ),
        # Restoring never lowers a level already above the saved one.
        (
            Streak(level=7, run=4, saved=2, since_reset=4),
            Streak(level=8, run=5, saved=None, since_reset=5, longest=5),
            None,
        ),
    ],
)
def test_a_negative_advances_the_run_the_level_and_any_recovery(
    before, after, restored_to
):
    step = after_negative(HIGGINS, before)

    assert (step.streak, step.restored_to) == (after, restored_to)


def test_a_per_week_schedule_advances_the_level_only_when_a_week_closes():
    negative = after_negative(WEEKLY, Streak()).streak

    assert (negative.level, negative.run) == (0, 1)
    assert after_clean_week(WEEKLY, negative).level == 1
    assert after_clean_week(HIGGINS, negative).level == 0  # per-test: no week effect


@pytest.mark.parametrize(
    ("before", "saved"),
    [
        (Streak(level=6, run=6), 6),
        (Streak(level=2, run=2, saved=6, since_reset=2), 6),  # second lapse keeps 6
        (Streak(level=8, run=2, saved=6, since_reset=2), 8),
    ],
)
def test_a_reset_restarts_and_remembers_the_higher_level(before, saved):
    after = after_reset(before)

    assert (after.level, after.run, after.saved, after.since_reset) == (0, 0, saved, 0)


@pytest.mark.parametrize(
    ("schedule", "outcome", "expected"),
    [
        (HIGGINS, "positive", True),
        (HIGGINS, "excused", False),
        (HIGGINS, "recollect", False),
        (
            Schedule(type="escalating", reset_on=frozenset({"positive"})),
            "missed",
            False,
        ),
        (Schedule(type="fixed", amount=5), "missed", True),  # the CM norm for the run
        (None, "refused", True),
    ],
)
def test_which_outcomes_reset(schedule, outcome, expected):
    assert resets(schedule, outcome) is expected


@pytest.mark.parametrize(
    ("run", "due"), [(0, False), (1, False), (2, True), (5, True), (6, False)]
)
def test_a_bonus_is_due_with_every_third_consecutive_negative(run, due):
    assert bonus_due(HIGGINS, Streak(run=run)) is due
