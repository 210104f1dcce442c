from __future__ import annotations

import pytest

from cm_service.rules import Exemption, classify_results, evaluate

from .builders import START, day, event, facts, preset, spec_of, specimen

HIGGINS = preset("higgins-1994")
CTN = preset("petry-ctn-2005")  # cocaine, amphetamine, methamphetamine, alcohol: all
STIMULANTS = {
    "cocaine": "negative",
    "amphetamine": "negative",
    "methamphetamine": "negative",
}
ANY = spec_of(
    targets={"substances": ["cocaine", "heroin"], "combine": "any"},
)


@pytest.mark.parametrize(
    ("spec", "results", "refused", "expected"),
    [
        (HIGGINS, {"cocaine": "negative"}, False, "negative"),
        (HIGGINS, {"cocaine": "positive"}, False, "positive"),
        (HIGGINS, {"Cocaine": "positive"}, False, "positive"),
        (
            HIGGINS,
            {"cocaine": "negative", "thc": "positive", "opiates": "positive"},
            False,
            "negative",
        ),
        (HIGGINS, {"thc": "positive"}, False, None),
        (HIGGINS, {}, False, None),
        (HIGGINS, {}, True, "refused"),
        (HIGGINS, {"thc": "negative"}, True, None),
        (HIGGINS, {"cocaine": "insufficient"}, False, "refused"),
        (HIGGINS, {"cocaine": "dilute"}, False, "positive"),
        (HIGGINS, {"cocaine": "adulterated"}, False, "positive"),
        (
            spec_of(results__dilute="recollect"),
            {"cocaine": "dilute"},
            False,
            "recollect",
        ),
        (spec_of(results__invalid="missed"), {"cocaine": "invalid"}, False, "missed"),
        (
            spec_of(results__substituted="missed"),
            {"cocaine": "substituted"},
            False,
            "missed",
        ),
        (CTN, {**STIMULANTS, "alcohol": "negative"}, False, "negative"),
        (CTN, {**STIMULANTS, "alcohol": "positive"}, False, "positive"),
        (CTN, STIMULANTS, False, "recollect"),
        (CTN, {"alcohol": "negative"}, False, "recollect"),
        (
            CTN,
            {**STIMULANTS, "cocaine": "positive", "alcohol": "insufficient"},
            False,
            "positive",
        ),
        (CTN, {**STIMULANTS, "alcohol": "insufficient"}, False, "refused"),
        (ANY, {"cocaine": "negative", "heroin": "positive"}, False, "negative"),
        (ANY, {"cocaine": "positive", "heroin": "positive"}, False, "positive"),
        (ANY, {"cocaine": "positive"}, False, "positive"),
        (ANY, {"cocaine": "insufficient"}, False, "refused"),
    ],
)
def test_results_classify_by_targets_combine_and_mapping(
    spec, results, refused, expected
):
    assert classify_results(spec, facts(), results, refused, START) == expected


def test_an_enrollment_target_override_replaces_the_protocol_targets():
    enrollment = facts(targets=("heroin",))

    assert (
        classify_results(HIGGINS, enrollment, {"cocaine": "positive"}, False, START)
        is None
    )
    assert classify_results(
        HIGGINS, enrollment, {"heroin": "positive"}, False, START
    ) == ("positive")


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (day(9), "positive"),  # before the prescription starts
        (day(10), "negative"),  # first covered day
        (day(20), "negative"),  # last covered day
        (day(21), "positive"),  # after it ends
    ],
)
def test_a_prescription_exempts_its_analyte_only_between_its_dates(on, expected):
    exemption = Exemption("cocaine", starts_on=day(10), ends_on=day(20), note="test")
    enrollment = facts(exemptions=(exemption,))

    assert (
        classify_results(HIGGINS, enrollment, {"cocaine": "positive"}, False, on)
        == expected
    )


def test_an_open_ended_exemption_covers_every_later_day_but_not_dilutes():
    enrollment = facts(exemptions=(Exemption("cocaine", starts_on=day(0)),))

    assert classify_results(
        HIGGINS, enrollment, {"cocaine": "positive"}, False, day(80)
    ) == ("negative")
    assert classify_results(
        HIGGINS, enrollment, {"cocaine": "dilute"}, False, day(80)
    ) == ("positive")


def test_an_unknown_result_value_is_an_error_not_a_silent_outcome():
    with pytest.raises(ValueError, match="unknown result 'pending'"):
        classify_results(HIGGINS, facts(), {"cocaine": "pending"}, False, START)


def test_an_untargeted_analyte_is_ignored_whatever_its_result_says():
    results = {"cocaine": "negative", "thc": "pending"}

    assert classify_results(HIGGINS, facts(), results, False, START) == "negative"


def outcome_of(spec, events):
    evaluation = evaluate(spec, facts(), events, as_of=day(0))
    found = [d for d in evaluation.days if d.on == day(0)]
    return (found[0].outcome, found[0].event_id) if found else (None, None)


@pytest.mark.parametrize(
    ("spec", "events", "expected"),
    [
        # Urine and breath of one day merge into one panel (CTN: stimulants + alcohol).
        (
            CTN,
            [
                specimen(5, day(0), **STIMULANTS),
                event(4, "breath", day(0), results={"alcohol": "negative"}),
            ],
            ("negative", 4),
        ),
        (
            CTN,
            [
                specimen(5, day(0), **STIMULANTS),
                event(6, "breath", day(0), results={"alcohol": "positive"}),
            ],
            ("positive", 5),
        ),
        # A urine alone is pending until the breath test arrives ...
        (CTN, [specimen(5, day(0), **STIMULANTS)], ("recollect", 5)),
        # ... and the nightly job's missed event turns the pending day into missed.
        (
            CTN,
            [specimen(5, day(0), **STIMULANTS), event(9, "missed", day(0))],
            ("missed", 9),
        ),
        # A breath test says nothing on a cocaine-only protocol.
        (
            HIGGINS,
            [event(3, "breath", day(0), results={"alcohol": "positive"})],
            (None, None),
        ),
        # A recollected dilute specimen followed by a negative pays.
        (
            spec_of(results__dilute="recollect"),
            [
                specimen(1, day(0), cocaine="dilute"),
                specimen(2, day(0), cocaine="negative"),
            ],
            ("negative", 2),
        ),
        (
            spec_of(results__dilute="recollect"),
            [specimen(1, day(0), cocaine="dilute"), event(2, "missed", day(0))],
            ("missed", 2),
        ),
        # Two decisive specimens: the most severe wins.
        (
            HIGGINS,
            [
                specimen(1, day(0), cocaine="negative"),
                specimen(2, day(0), cocaine="positive"),
            ],
            ("positive", 1),
        ),
        (
            HIGGINS,
            [
                specimen(1, day(0), cocaine="negative"),
                event(2, "specimen", day(0), refused=True),
            ],
            ("refused", 1),
        ),
        (
            HIGGINS,
            [
                specimen(7, day(0), cocaine="negative"),
                specimen(3, day(0), cocaine="negative"),
            ],
            ("negative", 3),
        ),
        # A decisive test beats an excuse, an excuse beats a missed event.
        (
            HIGGINS,
            [event(1, "excused", day(0)), specimen(2, day(0), cocaine="negative")],
            ("negative", 2),
        ),
        (
            HIGGINS,
            [event(1, "missed", day(0)), event(2, "excused", day(0))],
            ("excused", 2),
        ),
        (
            spec_of(results__invalid="missed"),
            [specimen(1, day(0), cocaine="invalid"), event(2, "excused", day(0))],
            ("excused", 2),
        ),
        (
            spec_of(results__invalid="missed"),
            [specimen(1, day(0), cocaine="invalid")],
            ("missed", 1),
        ),
        (HIGGINS, [], (None, None)),
    ],
)
def test_a_day_has_one_outcome_merged_from_its_events(spec, events, expected):
    assert outcome_of(spec, events) == expected
