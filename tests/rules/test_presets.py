"""Each preset reproduces the published (or derived) totals of its `source`."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cm_service.rules import (
    load_preset,
    simulate_outcomes,
    theoretical_maximum,
    validate_spec,
)

from .builders import changed, preset

# Higgins 1994 (derived): money earned by each of 36 negatives, in cents.
HIGGINS_PER_TEST = [
    250 + 125 * i + (1000 if (i + 1) % 3 == 0 else 0) for i in range(36)
]


def test_higgins_pays_3990_points_for_36_negatives():
    result = theoretical_maximum(preset("higgins-1994"))

    assert len(result.tests) == 36
    assert (result.evaluation.total_points, result.evaluation.total_cents) == (
        3990,
        99750,
    )
    assert [test.cents for test in result.tests] == HIGGINS_PER_TEST


def test_higgins_table_1_running_total_is_485_dollars_after_24_negatives():
    result = simulate_outcomes(preset("higgins-1994"), " ".join(["N"] * 24))

    assert result.evaluation.total_cents == 48500


def test_the_worked_reset_and_recovery_example_pays_120_dollars():
    result = simulate_outcomes(preset("higgins-1994"), "N N N N N N P N N N N N N N")

    assert [test.cents for test in result.tests] == [
        250, 375, 1500, 625, 750, 1875, 0, 250, 375, 1500, 625, 750, 2000, 1125,
    ]  # fmt: skip
    assert result.evaluation.total_cents == 12000
    assert "Level restored to 6 after 5 negatives" in result.tests[11].rules[0]


def test_silverman_1996_parameters_reproduce_the_published_1155_dollars():
    silverman = validate_spec(
        changed(
            load_preset("higgins-1994"),
            key="silverman-1996",
            phases__0__specimen__step=6,  # +$1.50 at 25 cents a point
            phases__0__specimen__recovery_after=None,
        )
    )

    result = theoretical_maximum(silverman)

    assert result.evaluation.total_cents == 115500
    assert [result.tests[i].cents for i in (0, 1, 2, 35)] == [250, 400, 1550, 6500]


def test_va_prize_pays_164_draws_for_24_negatives():
    result = theoretical_maximum(preset("va-prize-2014"))

    assert [test.draws for test in result.tests] == [1, 2, 3, 4, 5, 6, 7, 8] + [8] * 16
    assert result.evaluation.total_draws == 164
    assert result.expected_prize_cents == 164 * Fraction(919, 5)  # $301.43


def test_petry_ctn_pays_156_draws_for_24_negatives_escalating_per_week():
    result = theoretical_maximum(preset("petry-ctn-2005"))

    assert [test.draws for test in result.tests] == [
        w for w in range(1, 13) for _ in (1, 2)
    ]
    assert result.evaluation.total_draws == 156
    assert round(result.expected_prize_cents) == 34601  # $346.01


def test_california_all_negative_stops_exactly_at_the_599_dollar_year_cap():
    result = theoretical_maximum(preset("ca-recovery-incentives"))
    schedule_total = sum(min(1000 + 150 * i, 2650) for i in range(36))

    assert len(result.tests) == 36
    assert result.evaluation.total_cents == min(schedule_total, 59900) == 59900
    assert result.evaluation.capped_cents == schedule_total - 59900
    assert [test.cents for test in result.tests[24:28]] == [2650, 2650, 900, 0]
    assert result.tests[26].rules == (
        "27th consecutive negative: the maximum, 53 points ($26.50); "
        "capped at $599.00 per enrollment and per calendar year: paid $9.00 of $26.50",
    )


def test_california_first_twelve_tests_escalate_from_10_dollars_by_1_50():
    result = theoretical_maximum(preset("ca-recovery-incentives"))

    assert [test.cents for test in result.tests[:13]] == [
        1000 + 150 * i for i in range(12)
    ] + [2650]


def test_attendance_prize_escalates_draws_per_group_session_to_five():
    result = theoretical_maximum(preset("attendance-prize"))

    assert [test.draws for test in result.tests[:7]] == [1, 2, 3, 4, 5, 5, 5]
    assert result.evaluation.total_draws == 1 + 2 + 3 + 4 + 5 * 28


def test_the_combined_preset_pays_draws_for_negatives_and_money_for_groups():
    result = theoretical_maximum(preset("mcdonell-etg-2017"))

    # 36 EtG tests: 1..8 draws then 8 each; 12 weekly groups at $5.
    assert result.evaluation.total_draws == sum(range(1, 9)) + 8 * 28
    assert result.evaluation.total_cents == 12 * 500
    assert [(t.draws, t.cents) for t in result.tests[:3]] == [(1, 0), (2, 500), (3, 0)]


def test_the_combined_preset_pays_the_group_even_when_the_test_is_positive():
    spec = preset("mcdonell-etg-2017")

    result = simulate_outcomes(spec, "N P N M N")

    # Wednesday's group is paid after a positive test (it reinforces attending);
    # a missed Monday resets the draws, not the group's fixed $5.
    assert [(t.outcome, t.draws, t.cents) for t in result.tests] == [
        ("negative", 1, 0),
        ("positive", 0, 500),
        ("negative", 1, 0),
        ("missed", 0, 0),
        ("negative", 1, 500),
    ]


@pytest.mark.parametrize(
    "key", ["higgins-1994", "va-prize-2014", "petry-ctn-2005", "ca-recovery-incentives"]
)
def test_a_preset_pays_nothing_when_every_test_is_positive(key):
    spec = preset(key)
    count = len(theoretical_maximum(spec).tests)

    result = simulate_outcomes(spec, " ".join(["P"] * count))

    assert result.evaluation.awards == ()
