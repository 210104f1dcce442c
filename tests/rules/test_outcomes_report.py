from __future__ import annotations

from fractions import Fraction

import pytest

from cm_service.rules.outcomes_report import (
    Cost,
    ScheduledTest,
    completed,
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
# A worked example: 2 tests a week for 12 weeks.
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
    ("contact", "retained"),
    [
        ({1, 2, 3}, 3),
        ({1, 2, 5, 6}, 6),  # back after two weeks away: retained to week 6
        (set(), 0),
        ({4}, 4),
    ],
)
def test_weeks_retained_run_to_the_last_contact(contact, retained):
    assert weeks_retained(contact) == retained


@pytest.mark.parametrize(
    ("ended", "discharged", "contact", "done"),
    [
        (True, False, {1, 2, 12}, True),
        (True, False, {1, 2, 3}, False),  # dropped out in week 3
        (False, False, {1, 2, 9}, False),  # week 9 of 12: the course has not ended
        (True, True, {1, 12}, False),  # discharged before the last week ended
    ],
)
def test_completed_needs_the_course_ended_and_contact_in_its_last_week(
    ended, discharged, contact, done
):
    assert (
        completed(
            last_week=12,
            contact_weeks=contact,
            ended_in_window=ended,
            discharged_before_end=discharged,
        )
        is done
    )


def test_cost_values_draws_at_the_exact_expected_value():
    # 10 draws of bowl A (183.8 cents each = 919/5) plus $12.50 of vouchers.
    cost = Cost(voucher_cents=1250, draws=10, draw_value_cents=Fraction(919, 5))

    assert cost.cents == 1250 + 1838
    assert cost.per_negative(4) == Fraction(3088, 4)
    assert cost.per_negative(0) is None
    assert cost.share_of(Fraction(6176)) == Fraction(1, 2)


def test_pooled_percent_sums_before_dividing():
    assert pooled_percent([(1, 2), (3, 3)]) == 80
    assert pooled_percent([]) is None
