"""CTNote's named outcome definitions over use-pattern words (cm_service.rules.ctnote).

Hand-worked examples first (the working is in the comments), then CTNote's own
published values for the ten participants its vignettes show, then properties
(hypothesis) tying the pattern measures to outcomes_report's on the same tests.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cm_service.rules.ctnote import (
    WindowEvent,
    abstinent_ctn0094,
    abstinent_kosten_1993,
    collapse_week,
    count_matches,
    detect_in_window,
    detect_subpattern,
    dropout_ctn0094,
    longest_abstinent_run,
    measure_abstinence_period,
    measure_retention,
    pcc_pani_2000,
    pcu_mattick_2003,
    recode_missing_visits,
    relapse_ctn0094,
    relapse_lee_2018,
    tec_pani_2000,
    tep_mattick_2003,
    treatment_effectiveness_score,
    use_pattern,
    weekly_pattern,
    window,
)
from cm_service.rules.outcomes_report import (
    ScheduledTest,
    longest_abstinence,
    measure,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)
OUTCOMES = ("negative", "positive", "refused", "missed", "excused", "recollect")
# Mostly negatives, so long runs occur.
OUTCOME = st.sampled_from(("negative",) * 4 + OUTCOMES)
SYMBOLS = st.text(alphabet="-+o*_", max_size=30)


# --- The alphabet -------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "symbol"),
    [
        ("negative", "-"),
        ("positive", "+"),
        ("refused", "+"),  # a refusal is presumed positive
        ("missed", "o"),
        ("excused", "_"),
        ("recollect", "*"),  # no readable result yet: not clearly negative
        ("dilute", "*"),
        ("invalid", "*"),
    ],
)
def test_use_pattern_maps_each_outcome_to_ctnote_alphabet(outcome, symbol):
    assert use_pattern([outcome]) == symbol


def test_use_pattern_keeps_date_order():
    assert use_pattern(["negative", "missed", "refused", "excused"]) == "-o+_"
    assert use_pattern([]) == ""


@pytest.mark.parametrize("outcome", ["adulterated", "Negative", None])
def test_use_pattern_refuses_an_outcome_without_a_symbol(outcome):
    with pytest.raises(ValueError, match="no use-pattern symbol"):
        use_pattern([outcome])


# --- Weekly collapsing (CTN-0094's weekly word) -------------------------------


@pytest.mark.parametrize(
    ("tests", "week"),
    [
        ("-", "-"),
        ("---", "-"),
        ("-+", "*"),  # a positive and a negative: mixed
        ("-+o", "*"),
        ("+o", "+"),  # a result outweighs a miss
        ("+oo", "+"),
        ("-o", "-"),
        ("-oo", "-"),
        ("-*", "*"),  # an inconclusive test keeps the week from being clean
        ("+*", "+"),  # ... but does not soften a positive
        ("*", "*"),
        ("*o", "*"),
        ("oo", "o"),
        ("o_", "o"),  # one excused, one missed: still missed
        ("__", "_"),  # all excused: nothing expected
        ("", "_"),  # no test scheduled that week
        ("-_", "-"),
    ],
)
def test_collapse_week(tests, week):
    assert collapse_week(tests) == week


def test_collapse_week_refuses_a_symbol_outside_the_alphabet():
    with pytest.raises(ValueError, match="not a use-pattern symbol"):
        collapse_week("-x")


def test_weekly_pattern_of_two_and_three_tests_a_week():
    weeks = [
        ["negative", "negative", "missed"],  # - - o -> -
        ["negative", "refused", "negative"],  # - + - -> *
        ["excused", "excused"],  # _ _ -> _
        ["missed", "missed", "missed"],  # o o o -> o
        ["positive", "recollect"],  # + * -> +
        ["negative", "recollect"],  # - * -> *
    ]

    assert weekly_pattern(weeks) == "-*_o+*"


# --- CTNote's building blocks (examples from its own documentation) -----------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (1, -1, "abcde"),
        (2, 3, "bc"),
        (-2, -1, "de"),
        (3, 1, ""),
        (1, 0, ""),  # end 0: nothing (Mattick PCU when all is missing)
        (-9, 2, "ab"),  # clamped, as str_sub does
        (4, 99, "de"),
        (6, -1, ""),
    ],
)
def test_window_follows_str_sub(start, end, expected):
    assert window("abcde", start, end) == expected


def test_recode_missing_visits():
    pattern = "__++++*o-------+--+-o-o-o+o+"

    assert recode_missing_visits(pattern) == "__++++*+-------+--+-+-+-++++"
    assert recode_missing_visits("-o-", missing_becomes="") == "--"
    assert recode_missing_visits("-*-", "*", "-") == "---"
    with pytest.raises(ValueError, match="missing_becomes"):
        recode_missing_visits("-o", missing_becomes="*")


def test_count_matches():
    # count_matches' example: "++++*o-------+--+-o-o-o+o+" with o -> +, first 12
    # weeks: "++++*+------" holds 6 "-" and one "*" (1/2): 6.5 / 12 = 13/24.
    clean = recode_missing_visits("++++*o-------+--+-o-o-o+o+")

    assert count_matches(
        clean, "-", end=12, mixed_results_are="*", proportion=True
    ) == Fraction(13, 24)
    # Use after a clean week: "-+" at weeks 13, 16, 18, 20 and 22 (o is now +).
    assert count_matches(clean, "-+") == 5
    assert count_matches("", "-", proportion=True) == 0  # empty: 0, not 0/0
    assert count_matches("---", "-", start=5, proportion=True) == 0


def test_detect_subpattern():
    assert detect_subpattern("+---+", "---")
    assert not detect_subpattern("+---+", "---", start=3)  # "--+"
    assert detect_subpattern("-o--", ("----", "-o--"))
    assert not detect_subpattern("", "-")


def test_detect_in_window_examples_from_ctnote():
    # "o-o+++", 3 "+" in a 4-wide window: windows "o-o+" (1), "-o++" (2),
    # "o+++" (3): the 3rd, recorded at the run's start, 3 + (4 - 3) = 4.
    assert detect_in_window("o-o+++") == WindowEvent(4, True)
    assert detect_in_window("o-o+++", offset=0) == WindowEvent(3, True)
    # The first positive.
    assert detect_in_window("o-o+++", window_width=1, threshold=1) == WindowEvent(
        4, True
    )
    # No match: the number of windows (3) plus the offset (1), event False.
    assert detect_in_window("-o-o--") == WindowEvent(4, False)
    assert detect_in_window("-o-o--", offset=0) == WindowEvent(3, False)
    # Shorter than the window: NA, NA.
    assert detect_in_window("++") == WindowEvent(None, None)


def test_detect_in_window_checks_its_arguments():
    with pytest.raises(ValueError, match="match_is"):
        detect_in_window("++++", match_is="*")
    with pytest.raises(ValueError, match="threshold"):
        detect_in_window("++++", window_width=2, threshold=3)


def test_measure_retention_examples_from_ctnote():
    # README: 28 weeks, the last non-missing symbol, "_" weeks included.
    assert measure_retention("__++++*o-------+--+-o-o-o+o+oooooo") == 28
    assert measure_retention("ooooooooooo") == 0
    assert measure_retention("") == 0
    assert measure_retention("-o_oo") == 3  # a "_" week counts as contact


def test_measure_abstinence_period_example_from_ctnote():
    # "__++++*o-------+--+-o-o-o+o+oooooo" with _ -> -, o -> +, * -> +:
    # "--++++++-------+--+-+-+-++++++++++": the longest "-" run is 7.
    binary = "--++++++-------+--+-+-+-++++++++++"

    assert measure_abstinence_period(binary) == 7
    assert measure_abstinence_period("") == 0
    assert measure_abstinence_period("+++") == 0


# --- Kosten 1993 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        ("+---", True),
        ("---", True),
        ("--o--", False),  # a missed week breaks the run (not imputed)
        ("--*--", False),  # so does a mixed week
        ("-_--", False),  # and, as CTNote codes it, an excused week
        ("--", False),  # shorter than 3 weeks
        ("", False),
        ("oooooo", False),  # all missing
    ],
)
def test_abstinent_kosten_1993(weeks, expected):
    assert abstinent_kosten_1993(weeks) is expected


def test_kosten_on_a_refusal_week():
    # Week 2 holds a refusal: "- + -" -> "*", so weeks "-*--" have no 3 in a row.
    weeks = [["negative"] * 2, ["negative", "refused", "negative"]] + [
        ["negative"] * 2
    ] * 2

    assert weekly_pattern(weeks) == "-*--"
    assert not abstinent_kosten_1993(weekly_pattern(weeks))


# --- Ling 1998 TES ------------------------------------------------------------


def test_treatment_effectiveness_score():
    # "--*+o-_": three "-" and one "*" (1/2): 7/2; missed and excused add nothing.
    assert treatment_effectiveness_score("--*+o-_") == Fraction(7, 2)
    # Up to week 3 ("--*"): 5/2.
    assert treatment_effectiveness_score("--*+o-_", end=3) == Fraction(5, 2)
    # Mixed counted as nothing.
    assert treatment_effectiveness_score("--*+o-_", mixed_weight=Fraction(0)) == 3
    assert treatment_effectiveness_score("oooo") == 0
    assert treatment_effectiveness_score("") == 0


def test_tes_on_tests_counts_negative_tests_as_ling_did():
    # Per test (3 a week), a refusal is "+": "---" "-+-" -> 5 negatives.
    tests = use_pattern(["negative"] * 3 + ["negative", "refused", "negative"])

    assert treatment_effectiveness_score(tests) == 5


# --- Pani 2000 and Mattick 2003 percentages -----------------------------------

# "-+o-*--oo": 9 units; "-" at 1, 4, 6, 7 and one "*" -> 4 + 1/2 = 9/2 negatives.
NINE = "-+o-*--oo"


def test_tec_is_negatives_of_every_scheduled_unit():
    # 100 x (9/2) / 9 = 50.
    assert tec_pani_2000(NINE) == 50


def test_pcc_is_negatives_of_the_units_with_a_specimen():
    # Without the three "o": "-+-*--", 6 units: 100 x (9/2) / 6 = 75.
    assert pcc_pani_2000(NINE) == 75


def test_pcu_is_negatives_of_the_units_until_the_last_contact():
    # Last non-missing symbol at 7: "-+o-*--", 100 x (9/2) / 7 = 450/7.
    assert pcu_mattick_2003(NINE) == Fraction(450, 7)


def test_tep_is_negatives_of_the_scheduled_units_of_the_study():
    # The whole pattern: the same as TEC.
    assert tep_mattick_2003(NINE) == tec_pani_2000(NINE) == 50
    # A 6-unit study: "-+o-*-", 100 x (7/2) / 6 = 175/3.
    assert tep_mattick_2003(NINE, end=6) == Fraction(175, 3)


def test_percentages_with_mixed_counted_as_nothing():
    # 100 x 4 / 9, 100 x 4 / 6.
    none = Fraction(0)
    assert tec_pani_2000(NINE, mixed_weight=none) == Fraction(400, 9)
    assert pcc_pani_2000(NINE, mixed_weight=none) == Fraction(200, 3)


def test_percentages_when_everything_is_missed_are_zero():
    # CTNote returns 0 for an empty window, not 0/0.
    for measure_of in (tec_pani_2000, pcc_pani_2000, pcu_mattick_2003):
        assert measure_of("oooo") == 0
        assert measure_of("") == 0
    assert tep_mattick_2003("oooo") == 0


def test_an_excused_unit_stays_in_every_ctnote_denominator():
    # "-_+": 1 negative of 3 units in both, as count_matches divides by length.
    assert tec_pani_2000("-_+") == Fraction(100, 3)
    assert pcc_pani_2000("-_+") == Fraction(100, 3)
    # Dropping "_" first gives 50, what outcomes_report's percentages do.
    assert tec_pani_2000(recode_missing_visits("-_+", "_", "")) == 50


def test_a_refusal_counts_against_pcc_but_not_percent_of_submitted():
    # negative, refused: "-+" -> PCC 50. outcomes_report leaves a refusal out of
    # "submitted" (N / (N + P) = 1/1), so it reports 100.
    outcomes = ["negative", "refused"]

    assert pcc_pani_2000(use_pattern(outcomes)) == 50
    result = measure([ScheduledTest(o, 2) for o in outcomes])
    assert result.percent_of_submitted == 100


# --- CTN-0094 abstinence --------------------------------------------------------


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        ("+---o", True),  # last four "---o": one missing week allowed
        ("++----", True),
        ("-oo--", False),  # "oo--": two missing
        ("----+", False),
        ("----*", False),  # mixed is not abstinence
        ("---_", False),  # an excused week matches none of the five words
        ("---", False),  # fewer than four weeks
        ("", False),
        ("oooo", False),  # all missing
    ],
)
def test_abstinent_ctn0094(weeks, expected):
    assert abstinent_ctn0094(weeks) is expected


def test_ctn0094_abstinence_window_is_ctnotes_on_15_weeks():
    # CTNote's vignette looks at weeks 12-15 of its 15-week words.
    weeks = "+++++++++++o---"

    assert abstinent_ctn0094(weeks) is abstinent_ctn0094(weeks, 12, 15) is True
    # On a longer word, weeks 12-15 are not the last four.
    assert abstinent_ctn0094(weeks + "++", 12, 15)
    assert not abstinent_ctn0094(weeks + "++")


def test_ctn0094_abstinence_with_a_refusal_in_the_last_weeks():
    # Week 3 is "- +(refused)": "*" -> "+": not abstinent.
    weeks = [["negative"] * 2] * 2 + [["negative", "refused"]] + [["negative"] * 2]

    assert weekly_pattern(weeks) == "--*-"
    assert not abstinent_ctn0094(weekly_pattern(weeks))


# --- CTN-0094 relapse, Lee 2018 relapse, CTN-0094 dropout ---------------------


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        # o, * -> +: "--++++-", the 3rd window is "++++": week 3.
        ("--oo++-", WindowEvent(3, True)),
        ("-+o*+", WindowEvent(2, True)),  # "-++++"
        ("oooooo", WindowEvent(1, True)),  # all missing: relapse at week 1
        ("--+-", WindowEvent(1, False)),  # one window, no relapse
        # "_" is not recoded: "++_++" has no four in a row; 2 windows.
        ("++_++", WindowEvent(2, False)),
        ("++_++++", WindowEvent(4, True)),
        ("+++", WindowEvent(None, None)),  # shorter than the window
        ("", WindowEvent(None, None)),
    ],
)
def test_relapse_ctn0094(weeks, expected):
    assert relapse_ctn0094(weeks) == expected


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        # Weeks 3 on, then + 2: "--++++" -> "++++" at 1 -> week 3.
        ("--++++", WindowEvent(3, True)),
        # The first two weeks do not count: "++++--" -> "++--", no relapse.
        ("++++--", WindowEvent(3, False)),
        ("+-+-oooo", WindowEvent(5, True)),  # "+-oooo" -> "+-++++": 3, + 2
        ("oooooo", WindowEvent(3, True)),
        ("++++-", WindowEvent(None, None)),  # "++-" from week 3 is too short
    ],
)
def test_relapse_lee_2018(weeks, expected):
    assert relapse_lee_2018(weeks) == expected


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        ("-oooo+", WindowEvent(2, True)),
        ("o*oooo", WindowEvent(3, True)),  # "*" breaks the first run
        ("-ooo_o", WindowEvent(3, False)),  # so does an excused week
        ("-ooo+o", WindowEvent(3, False)),
        ("oooo", WindowEvent(1, True)),  # all missing: dropout at week 1
        ("ooo", WindowEvent(None, None)),
    ],
)
def test_dropout_ctn0094(weeks, expected):
    assert dropout_ctn0094(weeks) == expected


def test_a_refusal_is_use_not_missing_for_relapse_and_dropout():
    # Four weeks of refusals: "++++": relapse at week 1, no dropout.
    weeks = weekly_pattern([["refused", "refused"]] * 4)

    assert weeks == "++++"
    assert relapse_ctn0094(weeks) == WindowEvent(1, True)
    assert dropout_ctn0094(weeks) == WindowEvent(1, False)


# --- Longest abstinence -------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "missing", "excused", "expected"),
    [
        ("--o---+--", "positive", "negative", 3),  # "--+---+--"
        ("--o---+--", "ignored", "negative", 5),  # "-----+--"
        ("-*-", "ignored", "negative", 1),  # mixed is use
        # CTNote counts "_" as abstinent; ignoring it is outcomes_report's rule.
        ("--_--", "positive", "negative", 5),
        ("--_--", "positive", "ignored", 4),
        ("_____", "positive", "negative", 5),
        ("_____", "positive", "ignored", 0),
        ("oooo", "positive", "negative", 0),  # all missing
        ("oooo", "ignored", "negative", 0),
        ("", "positive", "negative", 0),
    ],
)
def test_longest_abstinent_run(pattern, missing, excused, expected):
    assert longest_abstinent_run(pattern, missing, excused) == expected


def test_longest_abstinent_run_defaults_to_schottenfeld_2008_and_excused_negative():
    assert longest_abstinent_run("--o---_") == 4  # "--+----"


def test_a_refusal_breaks_a_run_even_with_missing_ignored():
    pattern = use_pattern(["negative", "refused", "negative", "missed", "negative"])

    assert pattern == "-+-o-"
    assert longest_abstinent_run(pattern, "ignored") == 2


# --- CTNote's published values ------------------------------------------------

# The ten participants CTNote's vignettes print, with the values CTNote computed
# (inst/extdata/outcomes_{abstinence_20230210,reduction_20221216,
# relapse_20221123}.csv): Kosten, CTN-0094 abstinence (weeks 12-15), longest
# abstinence missing ignored / positive, TES (end 15), PCC, TEC, PCU, TEP (end
# 13) as proportions, CTN-0094 relapse, CTN-0094 dropout, Lee 2018 relapse.
PUBLISHED = [
    ("ooooooooooooooo", False, False, 0, 0, 0, 0, 0, 0, 0, (1, 1), (1, 1), (3, 1)),
    (
        "-o---o---o--o+----------",
        *(True, False, 10, 10, 10),
        *(0.95, 0.7916666666666666, 0.7916666666666666, 0.6923076923076923),
        *((21, 0), (21, 0), (21, 0)),
    ),
    (
        "-++++++++-+++-----------",
        *(True, False, 11, 11, 4),
        *(0.5416666666666666, 0.5416666666666666, 0.5416666666666666),
        *(0.15384615384615385, (2, 1), (21, 0), (3, 1)),
    ),
    (
        "-----------------------",
        *(True, True, 23, 23, 15, 1, 1, 1, 1),
        *((20, 0), (20, 0), (20, 0)),
    ),
    (
        "-------------------o-o-o",
        *(True, True, 21, 19, 15, 1, 0.875, 0.9130434782608695, 1),
        *((21, 0), (21, 0), (21, 0)),
    ),
    (
        "--++*++++++-++++++-+++-",
        *(False, False, 2, 2, 3.5),
        *(0.2391304347826087, 0.2391304347826087, 0.2391304347826087),
        *(0.2692307692307692, (3, 1), (20, 0), (3, 1)),
    ),
    (
        "------------o-oooooooooo",
        *(True, False, 13, 12, 13),
        *(1, 0.5416666666666666, 0.9285714285714286, 0.9230769230769231),
        *((15, 1), (15, 1), (15, 1)),
    ),
    (
        "++--oo--o-+-+--o----------o-o-oo++o",
        *(True, False, 14, 10, 8),
        *(0.7692307692307693, 0.5714285714285714, 0.5882352941176471),
        *(0.46153846153846156, (31, 1), (32, 0), (31, 1)),
    ),
    (
        "*+++++++++++o++++++++++o",
        *(False, False, 0, 0, 0.5),
        *(0.022727272727272728, 0.020833333333333332, 0.021739130434782608),
        *(0.038461538461538464, (1, 1), (21, 0), (3, 1)),
    ),
    (
        "++++---+--------------o-",
        *(True, True, 15, 14, 10),
        *(0.782608695652174, 0.75, 0.75, 0.6153846153846154),
        *((1, 1), (21, 0), (21, 0)),
    ),
]


def _event(found: WindowEvent) -> tuple[int, int]:
    return (found.time, int(found.event))


@pytest.mark.parametrize(
    ("weeks", "kosten", "ctn94", "lda_ignored", "lda_positive", "tes")
    + ("pcc", "tec", "pcu", "tep", "relapse", "dropout", "lee"),
    PUBLISHED,
)
def test_ctnote_published_values(
    weeks,
    kosten,
    ctn94,
    lda_ignored,
    lda_positive,
    tes,
    pcc,
    tec,
    pcu,
    tep,
    relapse,
    dropout,
    lee,
):
    assert abstinent_kosten_1993(weeks) is kosten
    assert abstinent_ctn0094(weeks, 12, 15) is ctn94
    assert longest_abstinent_run(weeks, "ignored") == lda_ignored
    assert longest_abstinent_run(weeks, "positive") == lda_positive
    assert treatment_effectiveness_score(weeks, end=15) == Fraction(tes)
    assert float(pcc_pani_2000(weeks) / 100) == pytest.approx(pcc, abs=1e-12)
    assert float(tec_pani_2000(weeks) / 100) == pytest.approx(tec, abs=1e-12)
    assert float(pcu_mattick_2003(weeks) / 100) == pytest.approx(pcu, abs=1e-12)
    assert float(tep_mattick_2003(weeks, end=13) / 100) == pytest.approx(tep, abs=1e-12)
    assert _event(relapse_ctn0094(weeks)) == relapse
    assert _event(dropout_ctn0094(weeks)) == dropout
    assert _event(relapse_lee_2018(weeks)) == lee


def test_exact_value_behind_a_published_proportion():
    # Participant 163's PCU: retention 24, 19 "-" of 24 -> 100 x 19/24 = 475/6.
    assert pcu_mattick_2003("-o---o---o--o+----------") == Fraction(475, 6)


# --- Properties -----------------------------------------------------------------


@SETTINGS
@given(
    outcomes=st.lists(OUTCOME, max_size=40),
    missing=st.sampled_from(("positive", "ignored")),
    per_week=st.sampled_from((1, 2, 3)),
)
def test_longest_abstinence_on_tests_matches_the_pattern_version(
    outcomes, missing, per_week
):
    tests = [ScheduledTest(o, per_week) for o in outcomes]
    pattern = use_pattern(outcomes)

    ours = longest_abstinence(tests, missing)
    run = longest_abstinent_run(pattern, missing, excused="ignored")
    assert ours.tests == run
    assert ours.weeks == Fraction(run, per_week)
    # CTNote's default counts excused tests as abstinent: never shorter.
    assert longest_abstinent_run(pattern, missing) >= run


@SETTINGS
@given(outcomes=st.lists(OUTCOME, min_size=1, max_size=40))
def test_tec_is_percent_of_scheduled_without_excused_or_inconclusive(outcomes):
    counted = [o for o in outcomes if o not in ("excused", "recollect")]
    pattern = use_pattern(counted)
    result = measure([ScheduledTest(o, 2) for o in counted])

    expected = result.percent_of_scheduled or 0  # CTNote: 0 for nothing scheduled
    assert tec_pani_2000(pattern) == tep_mattick_2003(pattern) == expected


@SETTINGS
@given(outcomes=st.lists(OUTCOME, min_size=1, max_size=40))
def test_pcc_is_percent_of_submitted_without_refusals(outcomes):
    kept = [o for o in outcomes if o not in ("excused", "recollect", "refused")]
    result = measure([ScheduledTest(o, 2) for o in kept])

    assert pcc_pani_2000(use_pattern(kept)) == (result.percent_of_submitted or 0)


@SETTINGS
@given(weeks=SYMBOLS)
def test_one_test_a_week_collapses_to_itself(weeks):
    assert "".join(collapse_week(symbol) for symbol in weeks) == weeks


@SETTINGS
@given(weeks=SYMBOLS)
def test_percentages_are_ordered_and_bounded(weeks):
    # PCC divides by the fewest units (no misses), TEC by the most (all).
    tec, pcu, pcc = tec_pani_2000(weeks), pcu_mattick_2003(weeks), pcc_pani_2000(weeks)

    assert 0 <= tec <= pcu <= 100
    assert 0 <= pcc <= 100
    if weeks.replace("o", ""):  # PCC has a denominator
        assert pcu <= pcc


@SETTINGS
@given(weeks=SYMBOLS)
def test_relapse_and_dropout_times_lie_within_the_pattern(weeks):
    for found in (relapse_ctn0094(weeks), dropout_ctn0094(weeks)):
        if len(weeks) < 4:
            assert found == WindowEvent(None, None)
        else:
            assert 1 <= found.time <= len(weeks) - 3
    # Dropout (4 missed weeks) is also a relapse (missing is positive) no later.
    dropout, relapse = dropout_ctn0094(weeks), relapse_ctn0094(weeks)
    if dropout.event:
        assert relapse.event
        assert relapse.time <= dropout.time
