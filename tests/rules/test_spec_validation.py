from __future__ import annotations

import pytest

from cm_service.rules import (
    FieldError,
    SpecError,
    load_preset,
    preset_keys,
    validate_spec,
)
from cm_service.rules.spec import LABEL_MAX

from .builders import DELETE, changed

HIGGINS = load_preset("higgins-1994")
VA = load_preset("va-prize-2014")
ATTENDANCE = changed(
    load_preset("attendance-prize"),
    phases__0__attendance__scheduled=DELETE,
    phases__0__attendance__reset_on=[],
)
SECOND_PHASE = {"weeks": [13, 24], "testing_days": ["mon"], "specimen": None}


def errors_of(document: object) -> list[FieldError]:
    with pytest.raises(SpecError) as raised:
        validate_spec(document)
    return list(raised.value.errors)


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        (changed(HIGGINS, colour="blue"), "colour", "unknown field"),
        (
            changed(HIGGINS, phases__0__specimen__stepp=5),
            "phases[0].specimen.stepp",
            "unknown field",
        ),
        (
            changed(HIGGINS, phases__0__specimen__step=-5),
            "phases[0].specimen.step",
            "must be a non-negative integer",
        ),
        (
            changed(HIGGINS, phases__0__specimen__step=2.5),
            "phases[0].specimen.step",
            "must be a non-negative integer",
        ),
        (changed(HIGGINS, unit_cents=25.0), "unit_cents", "must be a positive integer"),
        (changed(HIGGINS, unit_cents=0), "unit_cents", "must be a positive integer"),
        (
            changed(HIGGINS, phases__0__specimen__start=True),
            "phases[0].specimen.start",
            "must be a non-negative integer",
        ),
        (
            changed(HIGGINS, phases__0__specimen__bonus__amount="40"),
            "phases[0].specimen.bonus.amount",
            "must be a non-negative integer",
        ),
        (
            changed(HIGGINS, phases__0__specimen__bonus__every=0),
            "phases[0].specimen.bonus.every",
            "must be a positive integer",
        ),
        (
            changed(HIGGINS, phases__0__testing_days=["monday", "wed"]),
            "phases[0].testing_days[0]",
            "must be a weekday",
        ),
        (
            changed(HIGGINS, phases__0__testing_days=["mon", "mon"]),
            "phases[0].testing_days[1]",
            "is listed twice",
        ),
        (
            changed(HIGGINS, phases__0__testing_days=[]),
            "phases[0].testing_days",
            "must name a day",
        ),
        (
            changed(
                HIGGINS,
                phases=[HIGGINS["phases"][0], {**SECOND_PHASE, "weeks": [12, 20]}],
            ),
            "phases[1].weeks",
            "overlaps phases[0] (weeks 1-12)",
        ),
        (
            changed(
                HIGGINS,
                phases=[HIGGINS["phases"][0], {**SECOND_PHASE, "weeks": [14, 20]}],
            ),
            "phases[1].weeks",
            "leaves a gap after phases[0] (weeks 1-12)",
        ),
        (
            changed(HIGGINS, phases__0__weeks=[2, 12]),
            "phases[0].weeks",
            "the first phase must start at week 1",
        ),
        (
            changed(HIGGINS, phases__0__weeks=[12, 1]),
            "phases[0].weeks",
            "1 <= first <= last",
        ),
        (changed(HIGGINS, phases__0__weeks=[1, 12.0]), "phases[0].weeks", "first week"),
        (changed(HIGGINS, phases=[]), "phases", "must not be empty"),
        (changed(HIGGINS, phases={"weeks": [1, 12]}), "phases", "must be a list"),
        (changed(HIGGINS, targets__combine="both"), "targets.combine", '"all", "any"'),
        (
            changed(HIGGINS, targets__substances=[]),
            "targets.substances",
            "must not be empty",
        ),
        (
            changed(HIGGINS, targets__substances=["cocaine", 7]),
            "targets.substances[1]",
            "must be a non-empty string",
        ),
        (
            changed(HIGGINS, phases__0__specimen__reset_on=["positive", "dilute"]),
            "phases[0].specimen.reset_on[1]",
            '"positive", "missed", "refused"',
        ),
        (
            changed(HIGGINS, phases__0__specimen__per="day"),
            "phases[0].specimen.per",
            '"test", "week"',
        ),
        (
            changed(HIGGINS, phases__0__specimen__type="lottery"),
            "phases[0].specimen.type",
            '"escalating", "fixed", "prize_draws"',
        ),
        (
            changed(HIGGINS, phases__0__specimen__max=5),
            "phases[0].specimen.max",
            "must be at least start",
        ),
        (
            changed(HIGGINS, phases__0__specimen__recovery_after=0),
            "phases[0].specimen.recovery_after",
            "must be a positive integer or null",
        ),
        (
            changed(
                HIGGINS, phases__0__specimen={"type": "fixed", "amount": 4, "step": 1}
            ),
            "phases[0].specimen.step",
            "unknown field",
        ),
        (
            changed(HIGGINS, phases__0__specimen__session_types=["group"]),
            "phases[0].specimen.session_types",
            "unknown field",
        ),
        (
            changed(VA, phases__0__specimen__bowl__1__slips=0),
            "phases[0].specimen.bowl[1].slips",
            "must be a positive integer",
        ),
        (
            changed(VA, phases__0__specimen__bowl__2__value_cents=20.5),
            "phases[0].specimen.bowl[2].value_cents",
            "must be a non-negative integer",
        ),
        (
            changed(VA, phases__0__specimen__bowl__1__tier="good_job"),
            "phases[0].specimen.bowl[1].tier",
            "is listed twice",
        ),
        (
            changed(VA, phases__0__specimen__bowl=[]),
            "phases[0].specimen.bowl",
            "must not be empty",
        ),
        (
            changed(VA, phases__0__specimen__bowl=DELETE),
            "phases[0].specimen.bowl",
            "is required",
        ),
        (changed(HIGGINS, caps__crossing="some"), "caps.crossing", '"partial", "none"'),
        (
            changed(HIGGINS, caps__per_week_cents=-1),
            "caps.per_week_cents",
            "must be a non-negative integer or null",
        ),
        (
            changed(HIGGINS, caps__count_draws_at_expected_value="yes"),
            "caps.count_draws_at_expected_value",
            "must be true or false",
        ),
        (changed(HIGGINS, results__dilute="excused"), "results.dilute", '"recollect"'),
        (
            changed(HIGGINS, results__cloudy="positive"),
            "results.cloudy",
            "unknown field",
        ),
        (changed(HIGGINS, corrections="sometimes"), "corrections", '"clawback"'),
        (changed(HIGGINS, unit_cents=DELETE), "unit_cents", "is required"),
        (changed(HIGGINS, key=DELETE), "key", "is required"),
        (changed(HIGGINS, targets=DELETE), "targets", "is required"),
        (changed(HIGGINS, phases__0__weeks=DELETE), "phases[0].weeks", "is required"),
        (changed(HIGGINS, spec=2), "spec", "must be 1"),
        (changed(HIGGINS, key="Higgins 1994"), "key", "must be a slug"),
        (changed(HIGGINS, name=""), "name", "must be a non-empty string"),
        (changed(HIGGINS, confidence=3), "confidence", "must be a string"),
        (
            changed(ATTENDANCE, phases__0__attendance__session_types=DELETE),
            "phases[0].attendance.session_types",
            "is required",
        ),
        (
            changed(ATTENDANCE, phases__0__attendance__reset_on=["missed"]),
            "phases[0].attendance.reset_on",
            "without scheduled: true (booked sessions) attendance never resets",
        ),
        (
            changed(ATTENDANCE, phases__0__attendance__per="week"),
            "phases[0].attendance.per",
            "per attended session",
        ),
        ([HIGGINS], "(root)", "must be an object"),
        (
            changed(HIGGINS, phases__0__specimen__reset_on=DELETE),
            "phases[0].specimen.reset_on",
            "is required",
        ),
        (
            changed(HIGGINS, phases__0__specimen__type=DELETE),
            "phases[0].specimen.type",
            "is required",
        ),
        (
            changed(HIGGINS, phases__0__specimen="escalating"),
            "phases[0].specimen",
            "must be an object or null",
        ),
    ],
)
def test_a_bad_spec_names_exactly_the_bad_field(document, path, message):
    errors = errors_of(document)

    assert [error.path for error in errors] == [path]
    assert message in errors[0].message


def test_every_problem_is_reported_not_just_the_first():
    document = changed(HIGGINS, unit_cents=-1, targets__combine="x", caps__crossing="y")

    assert {error.path for error in errors_of(document)} == {
        "unit_cents",
        "targets.combine",
        "caps.crossing",
    }


def test_a_field_error_reads_as_path_colon_message():
    error = errors_of(changed(HIGGINS, phases__0__specimen__step=-1))[0]

    assert str(error) == "phases[0].specimen.step: must be a non-negative integer"


def test_the_spec_error_message_lists_every_field_error():
    with pytest.raises(SpecError, match=r"unit_cents: .*\n.*caps.crossing"):
        validate_spec(changed(HIGGINS, unit_cents=-1, caps__crossing="y"))


@pytest.mark.parametrize("key", preset_keys())
def test_every_preset_validates(key):
    spec = validate_spec(load_preset(key))

    assert spec.key == key
    assert spec.source
    assert spec.confidence


def test_optional_sections_take_the_documented_defaults():
    spec = validate_spec(
        changed(HIGGINS, results=DELETE, corrections=DELETE, caps=DELETE, source=DELETE)
    )

    assert dict(spec.results) == dict.fromkeys(
        ("dilute", "invalid", "adulterated", "substituted"), "positive"
    )
    assert spec.corrections == "no_clawback"
    assert spec.caps.crossing == "partial"
    assert spec.caps.count_draws_at_expected_value is False


def test_the_spec_keeps_its_raw_document_as_an_independent_copy():
    document = changed(HIGGINS)
    spec = validate_spec(document)
    document["name"] = "edited afterwards"

    assert spec.raw["name"] == HIGGINS["name"]
    assert spec.end_week == 12


def test_weekday_names_become_monday_based_numbers():
    spec = validate_spec(
        changed(HIGGINS, phases__0__testing_days=["sun", "mon", "thu"])
    )

    assert spec.phases[0].testing_days == (0, 3, 6)


def test_an_attendance_schedule_may_leave_out_the_reset_knobs():
    attendance = {
        "type": "escalating",
        "start": 1,
        "step": 1,
        "max": 5,
        "session_types": ["group"],
    }

    spec = validate_spec(changed(HIGGINS, phases__0__attendance=attendance))

    (schedule,) = spec.phases[0].attendance
    assert schedule.reset_on == frozenset()
    assert schedule.session_types == ("group",)


GROUP_DRAWS = {
    "type": "prize_draws",
    "start": 1,
    "step": 1,
    "max": 5,
    "session_types": ["group", "cbt"],
    "days": ["tue", "thu"],
    "bowl": [{"tier": "good_job", "slips": 1, "value_cents": 0}],
}
INDIVIDUAL_POINTS = {"type": "fixed", "amount": 20, "session_types": ["individual"]}


def test_a_phase_may_pay_several_attendance_schedules_each_its_own_sessions():
    spec = validate_spec(
        changed(HIGGINS, phases__0__attendance=[GROUP_DRAWS, INDIVIDUAL_POINTS])
    )

    draws, points = spec.phases[0].attendance
    assert (draws.account, draws.session_types, draws.days) == (
        "draws",
        ("group", "cbt"),
        (1, 3),
    )
    assert (points.account, points.amount, points.days) == ("points", 20, ())


def test_two_attendance_schedules_may_not_pay_the_same_session_type():
    twice = {**INDIVIDUAL_POINTS, "session_types": ["individual", "group"]}

    with pytest.raises(SpecError) as error:
        validate_spec(changed(HIGGINS, phases__0__attendance=[GROUP_DRAWS, twice]))

    assert [str(e) for e in error.value.errors] == [
        "phases[0].attendance[1].session_types: group is already paid by another "
        "attendance schedule"
    ]


def test_attendance_days_must_be_weekdays():
    bad = {**GROUP_DRAWS, "days": ["tuesday"]}

    with pytest.raises(SpecError) as error:
        validate_spec(changed(HIGGINS, phases__0__attendance=bad))

    assert str(error.value.errors[0]).startswith(
        "phases[0].attendance.days[0]: must be"
    )


def test_a_short_label_is_optional_and_kept():
    assert validate_spec(HIGGINS).label == "Escalating vouchers, cocaine"
    unlabelled = {k: v for k, v in HIGGINS.items() if k != "label"}
    assert validate_spec(unlabelled).label is None


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "must be a non-empty string"),
        ("   ", "must be a non-empty string"),
        (42, "must be a non-empty string"),
        ("x" * (LABEL_MAX + 1), f"at most {LABEL_MAX} characters"),
    ],
)
def test_a_bad_label_names_its_field(label, message):
    errors = errors_of({**HIGGINS, "label": label})

    assert [error.path for error in errors] == ["label"]
    assert message in errors[0].message


def test_every_preset_has_a_short_label():
    for key in preset_keys():
        label = validate_spec(load_preset(key)).label
        assert label
        assert len(label) <= 40, key
