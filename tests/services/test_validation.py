"""The services' checks of what people type (issue 15): text, whole numbers, JSON
nesting and a protocol's caps. tests/web/test_hostile_input.py sends the same kinds
of values through every form and API field; these pin the rules themselves."""

from __future__ import annotations

import pytest

from cm_service import rules
from cm_service.services.admin import protocol_checks
from cm_service.services.errors import InvalidInput
from cm_service.services.validation import (
    INT_MAX,
    check_depth,
    check_int,
    check_text,
    too_deep,
)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("  Sam  ", "Sam"),
        (None, ""),
        ("\u200b", ""),  # shows nothing: blank
        ("Zoë \u200d🙂", "Zoë \u200d🙂"),  # a joiner inside visible text stays
        ("\u05e9\u05dc\u05d5\u05dd \u200f", "\u05e9\u05dc\u05d5\u05dd \u200f"),
    ],
)
def test_text_people_can_type_is_kept_stripped(value, kept):
    assert check_text("name", value, max_length=20) == kept


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        "\ud800",
        "evil\u202etxt.exe",
        "two\nlines",
        "bell\x07",
        "x" * 21,
        42,
        b"bytes",
    ],
)
def test_text_no_one_could_type_is_refused_naming_the_field(value):
    with pytest.raises(InvalidInput) as refused:
        check_text("name", value, max_length=20)

    assert refused.value.field == "name"


def test_multiline_text_keeps_line_breaks_but_no_other_control():
    assert check_text("memo", "a\r\nb\tc", max_length=20, multiline=True) == "a\r\nb\tc"
    with pytest.raises(InvalidInput):
        check_text("memo", "a\nb\x1b[31m", max_length=20, multiline=True)


def test_required_text_must_show_something():
    with pytest.raises(InvalidInput) as refused:
        check_text("name", " \u200b ", max_length=20, required=True)

    assert refused.value.field == "name"


@pytest.mark.parametrize("value", [True, 1.0, "3", -1, 11, INT_MAX + 1, 2**70])
def test_whole_numbers_out_of_range_or_of_another_type_are_refused(value):
    with pytest.raises(InvalidInput) as refused:
        check_int("stock", value, minimum=0, maximum=10)

    assert refused.value.field == "stock"


def test_the_cap_never_passes_the_integer_column():
    with pytest.raises(InvalidInput):
        check_int("id", INT_MAX + 1, minimum=1, maximum=2**63)

    assert check_int("id", INT_MAX, minimum=1, maximum=2**63) == INT_MAX


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"reason": ' + "[" * 50_000 + "]" * 50_000 + "}", "reason"),
        ('{"entry": [{"resource": {"code": ' + "[" * 40 + "]" * 40, "entry[0]"),
        ("[" * 33, ""),
        ('{"a": "' + "[" * 40 + '", "b": [1, [2]]}', None),  # brackets in a string
        ('{"x": [1, 2, {"y": ' + "{" * 31, "x[2].y"),
    ],
)
def test_deep_json_is_found_by_scanning_and_named(text, where):
    found = too_deep(text)

    assert found == where or (where is not None and found.startswith(where))


def test_a_parsed_document_too_deep_is_refused_without_recursion():
    document: list = []
    for _ in range(5_000):
        document = [document]

    with pytest.raises(InvalidInput) as refused:
        check_depth("spec", {"phases": document})

    assert refused.value.field.startswith("spec.phases")


def _higgins(**change) -> dict:
    return {**rules.load_preset("higgins-1994"), **change}


def _refusal(document: dict) -> str:
    rules.validate_spec(document)
    with pytest.raises(InvalidInput) as refused:
        protocol_checks.check_spec(document)
    return refused.value.field


def test_every_preset_passes_the_protocol_checks():
    for key in rules.preset_keys():
        document = rules.load_preset(key)
        protocol_checks.check_document(document)
        protocol_checks.check_spec(document)


def test_a_protocol_pays_at_most_100_dollars_a_point():
    assert _refusal(_higgins(unit_cents=10_001)) == "spec.unit_cents"


def test_a_protocol_runs_at_most_520_weeks():
    phases = _higgins()["phases"]
    phases[0]["weeks"] = [1, 521]

    assert _refusal(_higgins(phases=phases)) == "spec.phases[0].weeks"


def test_an_escalation_without_a_maximum_must_fit_one_ledger_entry():
    phases = _higgins()["phases"]
    phases[0]["specimen"].update(start=10, step=100_000, max=None)

    assert _refusal(_higgins(unit_cents=1_000, phases=phases)) == (
        "spec.phases[0].specimen.max"
    )


def test_a_target_check_in_cannot_record_is_refused():
    targets = {"substances": ["cocaine", "kryptonite"], "combine": "all"}

    assert _refusal(_higgins(targets=targets)) == "spec.targets.substances[1]"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "x" * 201}, "spec.name"),
        ({"key": "k" * 81}, "spec.key"),
        ({"source": "a\x00b"}, "spec.source"),
        ({"confidence": "\ud800"}, "spec.confidence"),
        ({"unit_cents": 2**31}, "spec.unit_cents"),
        ({"caps": {"per_week_cents": float("inf")}}, "spec.caps.per_week_cents"),
    ],
)
def test_a_protocols_text_and_numbers_are_checked_before_validation(change, field):
    with pytest.raises(InvalidInput) as refused:
        protocol_checks.check_document(_higgins(**change))

    assert refused.value.field == field
