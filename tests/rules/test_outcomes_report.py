from __future__ import annotations

from fractions import Fraction

import pytest

from cm_service.rules.outcomes_report import (
    ScheduledTest,
    longest_abstinence,
    measure,
    pooled_percent,
    weeks_retained,
)

CODES = {
    "N": "negative",
    "P": "positive",
    "M": "missed",
    "E": "excused",
    "R": "refused",
}
# REFERENCE.md section 5, the worked example: 2 tests a week for 12 weeks.
WORKED = "N N P N N N M N N N N N E N N P N N N N N N N N"


def timeline(tokens: str, per_week: int = 2) -> list[ScheduledTest]:
    return [ScheduledTest(CODES[t], per_week) for t in tokens.split()]


def test_the_worked_example_gives_the_reference_values():
    result = measure(timeline(WORKED))

    assert (result.lda.tests, result.lda.weeks) == (8, 4)
    assert (result.lda_missing_ignored.tests, result.lda_missing_ignored.weeks) == (
        10,
        5,
    )
    assert result.negatives == 20
    assert round(float(result.percent_of_scheduled), 2) == 86.96
    assert result.percent_of_scheduled == Fraction(2000, 23)
    assert round(float(result.percent_of_submitted), 2) == 90.91
    assert (result.scheduled, result.excused, result.missing) == (24, 1, 1)
    assert result.reached(4)
    assert not result.reached(8)
    assert result.reached(4, "ignored")
    assert not result.reached(8, "ignored")


@pytest.mark.parametrize(
    ("tokens", "missing", "expected_tests"),
    [
        ("", "positive", 0),
        ("P P", "positive", 0),
        ("N E N", "positive", 2),
        ("N M N", "positive", 1),
        ("N M N", "ignored", 2),
        ("N R N", "ignored", 1),  # a refusal is presumed positive either way
        ("N N P N", "ignored", 2),
        ("E E E", "positive", 0),
    ],
)
def test_longest_abstinence_conventions(tokens, missing, expected_tests):
    assert longest_abstinence(timeline(tokens), missing).tests == expected_tests


def test_weeks_follow_the_schedule_of_each_test():
    # Four tests at 2/week then two at 1/week: 2 + 2 = 4 weeks.
    mixed = timeline("N N N N") + timeline("N N", per_week=1)

    assert longest_abstinence(mixed).weeks == 4


def test_no_counted_tests_gives_no_percentages():
    result = measure(timeline("E E"))

    assert result.percent_of_scheduled is None
    assert result.percent_of_submitted is None


def test_missing_counts_against_scheduled_but_not_submitted():
    result = measure(timeline("N M R P"))

    assert result.percent_of_scheduled == 25
    assert result.percent_of_submitted == 50


@pytest.mark.parametrize(
    ("contact", "through", "retained"),
    [
        ({1, 2, 3}, 3, 3),
        ({1, 2, 5, 6}, 6, 2),  # weeks 3-4 without contact: dropped out after week 2
        ({1, 3, 5}, 6, 5),  # single missed weeks are not a dropout
        (set(), 4, 0),
        ({1, 2}, 12, 2),
        ({4}, 6, 0),
    ],
)
def test_weeks_retained_stop_at_the_first_two_week_gap(contact, through, retained):
    assert weeks_retained(contact, through) == retained


def test_pooled_percent_sums_before_dividing():
    assert pooled_percent([(1, 2), (3, 3)]) == 80
    assert pooled_percent([]) is None
