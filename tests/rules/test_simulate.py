"""The simulator core: the JSON shape of docs/protocol-spec.md, token errors, cohorts
and tables."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction

import pytest

from cm_service.rules import (
    ProtocolSpec,
    SimulationError,
    format_table,
    load_preset,
    simulate_cohort,
    simulate_outcomes,
    theoretical_maximum,
    validate_spec,
)

from .builders import changed, preset, spec_of

HIGGINS = preset("higgins-1994")
VA = preset("va-prize-2014")


def test_as_dict_has_exactly_the_spec_json_shape():
    result = simulate_outcomes(HIGGINS, "N").as_dict()

    assert {
        "protocol",
        "version",
        "tests",
        "total_points",
        "total_cents",
        "total_draws",
        "capped_cents",
        "longest_run",
        "percent_negative",
    } <= result.keys()
    first = result["tests"][0]
    assert {k: first[k] for k in ("n", "on", "outcome", "points", "bonus_points")} == {
        "n": 1,
        "on": "2026-01-05",
        "outcome": "negative",
        "points": 10,
        "bonus_points": 0,
    }
    assert (first["cents"], first["draws"]) == (250, 0)
    assert (result["protocol"], result["version"], result["total_cents"]) == (
        "higgins-1994",
        1,
        250,
    )
    assert (result["longest_run"], result["percent_negative"]) == (1, 100.0)
    assert json.loads(json.dumps(result)) == result


def test_reference_section_5_example_gives_lda_8_and_87_percent_negative():
    tokens = "N N P N N N M N N N N N E N N P N N N N N N N N"

    result = simulate_outcomes(VA, tokens)

    # LDA with missing = positive and excused skipped: the last run, tests 17-24.
    assert result.evaluation.longest_run == 8
    assert result.percent_negative == Fraction(2000, 23)  # 20 / (24 - 1 excused)
    assert result.as_dict()["percent_negative"] == 87.0


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (" ".join(["N"] * 37), "37 outcomes given but the protocol schedules 36 tests"),
        ("N X N", "unknown outcome X"),
        ("N N 2", "unknown outcome 2"),
        ("", "give at least one outcome"),
    ],
)
def test_bad_outcome_tokens_raise_an_error_for_the_outcomes_field(tokens, message):
    with pytest.raises(SimulationError) as raised:
        simulate_outcomes(HIGGINS, tokens)

    assert raised.value.field == "outcomes"
    assert message in raised.value.message


def test_tokens_are_case_insensitive_and_any_whitespace_separates_them():
    assert simulate_outcomes(HIGGINS, "n\tn\n n").evaluation.total_cents == 2125


@pytest.mark.parametrize(
    ("spec", "outcome", "then"),
    [
        (HIGGINS, "positive", 250),  # Higgins maps dilute to positive: reset
        (spec_of(results__dilute="recollect"), "missed", 250),  # never recollected
    ],
)
def test_a_dilute_token_follows_the_protocols_dilute_mapping(spec, outcome, then):
    result = simulate_outcomes(spec, "N N D N")

    assert result.tests[2].outcome == outcome
    assert result.tests[3].cents == then


def test_each_outcome_token_maps_to_its_outcome():
    result = simulate_outcomes(HIGGINS, "N P M R E D")

    assert [t.outcome for t in result.tests] == [
        "negative",
        "positive",
        "missed",
        "refused",
        "excused",
        "positive",
    ]


def test_the_default_start_is_monday_5_january_2026_and_a_start_can_be_given():
    assert simulate_outcomes(HIGGINS, "N").tests[0].on == date(2026, 1, 5)
    wednesday = simulate_outcomes(HIGGINS, "N N N", start=date(2026, 3, 4))
    assert [t.on.isoformat() for t in wednesday.tests] == [
        "2026-03-04",
        "2026-03-06",
        "2026-03-09",
    ]


def test_the_theoretical_maximum_is_every_scheduled_test_negative():
    assert (
        theoretical_maximum(HIGGINS).as_dict()
        == simulate_outcomes(HIGGINS, " ".join(["N"] * 36)).as_dict()
    )


def test_the_theoretical_maximum_follows_an_enrollments_testing_days():
    # Higgins tested Mon/Thu (an enrollment's override) is a 24-test course:
    # sum(10 + 5 l, l = 0..23) + 8 bonuses x 40 = 1,940 points = $485.00.
    result = theoretical_maximum(HIGGINS, testing_days={0: [0, 3]})

    assert [t.on.weekday() for t in result.tests[:2]] == [0, 3]
    assert (len(result.tests), result.evaluation.total_points) == (24, 1940)
    assert result.cost_cents == 48500


def test_a_cohort_is_deterministic_for_a_seed():
    first = simulate_cohort(HIGGINS, 20, "0.6", seed=7).as_dict()

    assert simulate_cohort(HIGGINS, 20, Fraction(3, 5), seed=7).as_dict() == first
    assert simulate_cohort(HIGGINS, 20, "0.6", seed=8).as_dict() != first


def test_a_cohort_reports_sane_statistics_in_cents():
    result = simulate_cohort(HIGGINS, 40, "0.6", seed=7)
    summary = result.as_dict()

    assert 0 < summary["mean_cents"] < summary["theoretical_maximum_cents"] == 99750
    assert (
        summary["median_cents"] <= summary["p90_cents"] <= summary["max_cents"] <= 99750
    )
    assert 0 < result.mean_proportion < Fraction(3, 5)
    assert all(isinstance(summary[k], int) for k in ("mean_cents", "p90_cents"))


@pytest.mark.parametrize(("chance", "expected"), [("1", 30143), ("0", 0)])
def test_a_cohort_values_draws_at_the_bowls_exact_expected_value(chance, expected):
    summary = simulate_cohort(VA, 3, chance, seed=1).as_dict()

    # 164 draws × 183.8 cents = 30 143.2 cents (the VA bowl: $301.43).
    assert summary["mean_cents"] == summary["max_cents"] == expected


@pytest.mark.parametrize(
    ("n", "chance", "field"),
    [(0, "0.5", "cohort"), (10, "1.5", "p_negative"), (10, "often", "p_negative")],
)
def test_bad_cohort_arguments_name_their_field(n, chance, field):
    with pytest.raises(SimulationError) as raised:
        simulate_cohort(HIGGINS, n, chance, seed=1)

    assert raised.value.field == field


def test_the_timeline_table_reads_as_a_budget_with_totals():
    table = format_table(simulate_outcomes(HIGGINS, "N N N P"))
    lines = table.splitlines()

    assert lines[0] == "higgins-1994 v1, from Mon 2026-01-05"
    assert lines[2].split() == [
        "n", "date", "day", "outcome", "points", "bonus", "$", "draws", "running", "$",
    ]  # fmt: skip
    assert lines[6].split() == [
        "3", "2026-01-09", "Fri", "negative", "20", "40", "$15.00", "-", "$21.25",
    ]  # fmt: skip
    assert lines[-6].split() == ["Total", "45", "40", "$21.25", "-"]
    assert "Paid:              $21.25 (85 points, 0 draws)" in lines
    assert len({len(line) for line in lines[2:8]}) <= 2  # aligned columns


def test_money_over_a_thousand_dollars_has_a_thousands_separator():
    assert "$997.50" in format_table(theoretical_maximum(HIGGINS))
    steep = spec_of(phases__0__specimen__step=100)
    assert "$1,720.00" in format_table(simulate_outcomes(steep, " ".join(["N"] * 12)))


def test_the_cohort_table_lists_the_cost_distribution():
    table = format_table(simulate_cohort(VA, 5, "0.5", seed=3))

    for label in (
        "Mean",
        "Median",
        "90th percentile",
        "Maximum",
        "Theoretical maximum",
    ):
        assert label in table
    assert "$301.43" in table


def test_an_attendance_only_cohort_treats_the_chance_as_attending():
    attendance = preset("attendance-prize")

    everyone = simulate_cohort(attendance, 3, "1", seed=2).as_dict()
    nobody = simulate_cohort(attendance, 3, "0", seed=2).as_dict()

    assert everyone["max_cents"] == everyone["theoretical_maximum_cents"] > 0
    assert nobody["max_cents"] == 0


def year_capped() -> ProtocolSpec:
    """California's schedule with only its $599 per-calendar-year cap."""
    document = changed(
        load_preset("ca-recovery-incentives"), caps__per_enrollment_cents=None
    )
    return validate_spec(document)


def test_a_cohort_runs_on_its_start_date_and_reports_it():
    spec = year_capped()

    inside = simulate_cohort(spec, 3, "1", seed=1, start=date(2026, 1, 5))
    across = simulate_cohort(spec, 3, "1", seed=1, start=date(2026, 11, 2))

    assert (inside.as_dict()["start"], across.as_dict()["start"]) == (
        "2026-01-05",
        "2026-11-02",
    )
    # All 24 weeks inside 2026: the year cap binds. Across 1 January, the weeks in
    # 2027 have a cap of their own, so every participant is paid in full.
    assert inside.as_dict()["max_cents"] == 59900
    assert across.max_cents == across.as_dict()["theoretical_maximum_cents"] > 59900
    assert "from Mon 2026-11-02" in format_table(across)


def test_a_cohort_without_a_start_runs_from_the_default_start():
    assert simulate_cohort(HIGGINS, 2, "0.5", seed=1).as_dict()["start"] == (
        "2026-01-05"
    )


def test_an_attendance_only_protocol_simulates_sessions_with_a_l_m_e():
    spec = preset("attendance-prize")

    result = simulate_outcomes(spec, "A A M A E L")

    assert [(t.on.strftime("%a"), t.outcome, t.draws) for t in result.tests] == [
        ("Tue", "attended", 1),
        ("Thu", "attended", 2),
        ("Tue", "missed", 0),
        ("Thu", "attended", 1),
        ("Tue", "excused", 0),
        ("Thu", "attended", 2),
    ]
    assert result.evaluation.total_draws == 6


def test_an_attendance_only_protocol_refuses_test_tokens_by_name():
    with pytest.raises(SimulationError) as error:
        simulate_outcomes(preset("attendance-prize"), "N N")

    assert error.value.field == "outcomes"
    assert "use A, L, M, E (attended, late, missed, excused)" in error.value.message


def test_the_attendance_maximum_attends_every_session_of_sixteen_weeks():
    result = theoretical_maximum(preset("attendance-prize"))

    assert len(result.tests) == 32  # Tuesday and Thursday for 16 weeks
    assert result.evaluation.total_draws == 1 + 2 + 3 + 4 + 5 * 28


def test_an_attendance_only_simulation_reports_attendance_not_negatives():
    result = simulate_outcomes(preset("attendance-prize"), "A A M A E L")

    table = format_table(result)

    assert result.percent_negative is None
    assert result.percent_attended == 80  # 4 of 5 counted (one excused)
    assert result.as_dict()["percent_attended"] == 80.0
    assert "Longest run:       2 sessions attended" in table
    assert "Attended:          80.0% (excused not counted)" in table
    assert "negatives" not in table
