"""The protocol builder's form <-> spec document, without a browser or a database."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from cm_service import rules
from cm_service.services.admin import protocol_builder as builder


def posted(fields) -> dict:
    """The fields as a browser posts them and the view reads them back."""
    return builder.fields_from_form(MultiDict(builder.flatten(fields)))


def preset_fields(key: str) -> dict:
    fields, notes = builder.fields_from_document(rules.load_preset(key))
    assert notes == []
    return fields


def group_attendance(**changes) -> dict:
    """A blank form filled in as an attendance-only group protocol."""
    fields = builder.apply_action(builder.blank_fields(), "add_attendance", "0")
    schedule = {
        **fields["phases"][0]["attendance"][0],
        "start": "1",
        "step": "1",
        "max": "5",
        "session_types": ["group"],
        "days": ["tue", "thu"],
        **changes,
    }
    fields["phases"][0]["attendance"][0] = schedule
    return {**fields, "key": "groups", "name": "Groups", "targets": ["cocaine"]}


@pytest.mark.parametrize("key", rules.preset_keys())
def test_every_preset_saved_unedited_is_the_same_protocol(key):
    built = builder.build(posted(preset_fields(key)))

    assert built.errors == {}
    assert built.form_errors == []
    assert built.spec == rules.validate_spec(rules.load_preset(key))


@pytest.mark.parametrize("key", rules.preset_keys())
def test_a_saved_document_fills_the_form_it_came_from(key):
    fields = posted(preset_fields(key))

    again, _ = builder.fields_from_document(builder.build(fields).document)

    assert posted(again) == fields


def test_a_blank_form_names_what_is_missing():
    built = builder.build(posted(builder.blank_fields()))

    assert not built.ok
    assert set(built.errors) == {"key", "name", "targets"}


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("12.5", 1250), ("12.50", 1250), ("$12", 1200), (".75", 75), ("1,000.01", 100001)],
)
def test_dollars_become_exact_cents(typed, cents):
    # A cap, not the point's value: a point is worth at most $100 (protocol_checks).
    fields = group_attendance()
    built = builder.build({**fields, "caps": {**fields["caps"], "per_week": typed}})

    assert built.document["caps"]["per_week_cents"] == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12.345", builder.CENTS_MESSAGE),
        ("12.3.4", builder.MONEY_MESSAGE),
        ("-1", builder.MONEY_MESSAGE),
        ("1e3", builder.MONEY_MESSAGE),
        ("", builder.MONEY_MESSAGE),
    ],
)
def test_money_that_is_not_whole_cents_is_an_error_on_its_field(typed, message):
    built = builder.build({**group_attendance(), "unit": typed})

    assert built.errors == {"unit": [message]}


def test_a_cap_in_dollars_is_stored_in_cents_and_blank_is_no_cap():
    fields = group_attendance()
    fields["caps"] = {**fields["caps"], "per_calendar_year": "599", "per_week": ""}

    caps = builder.build(fields).spec.caps

    assert caps.per_calendar_year_cents == 59900
    assert caps.per_week_cents is None


def test_overlapping_weeks_are_an_error_on_the_later_phase():
    fields = builder.apply_action(group_attendance(), "add_phase", "")
    fields["phases"][1]["weeks_from"] = "12"

    built = builder.build(fields)

    assert built.errors == {"phases-1-weeks": ["Overlaps phase 1 (weeks 1-12)"]}


def test_an_attendance_schedule_without_session_types_is_an_error_on_them():
    built = builder.build(group_attendance(session_types=[]))

    assert built.errors == {
        "phases-0-attendance-0-session_types": ["Tick at least one."]
    }


def test_a_word_where_a_number_goes_gets_one_message():
    fields = group_attendance(start="one")

    built = builder.build(fields)

    assert built.errors == {"phases-0-attendance-0-start": [builder.WHOLE_MESSAGE]}


def test_half_a_bonus_is_an_error_on_the_missing_half():
    built = builder.build(group_attendance(bonus_every="3"))

    assert list(built.errors) == ["phases-0-attendance-0-bonus_amount"]


def test_a_bowl_error_shows_once_on_the_bowl_row():
    fields = builder.apply_action(group_attendance(), "add_phase", "")
    fields["phases"][1]["attendance"] = [
        group_attendance()["phases"][0]["attendance"][0]
    ]
    fields["phases"][1]["attendance"][0]["session_types"] = ["group"]
    fields["bowl"][1]["slips"] = "0"

    built = builder.build(fields)

    assert built.errors == {"bowl-1-slips": ["Must be a positive integer"]}


def test_the_one_bowl_goes_into_every_draw_schedule_and_nowhere_else():
    fields = group_attendance()
    fields["phases"][0]["specimen"] = {
        **fields["phases"][0]["specimen"],
        "type": "fixed",
        "amount": "10",
    }
    fields["phases"][0]["testing_days"] = ["mon"]

    phase = builder.build(fields).document["phases"][0]

    assert "bowl" not in phase["specimen"]
    assert [t["slips"] for t in phase["attendance"]["bowl"]] == [250, 219, 30, 1]


def test_without_draws_a_bad_bowl_does_not_block_saving():
    fields = group_attendance(type="fixed", amount="20")
    fields["bowl"][0]["value"] = "lots"

    assert builder.build(fields).ok


def test_attendance_by_appointment_is_written_only_when_set():
    schedule = builder.build(group_attendance()).document["phases"][0]["attendance"]

    assert "scheduled" not in schedule
    assert "on_time_minutes" not in schedule
    assert "reset_on" not in schedule


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("phases[0].specimen.start", "phases-0-specimen-start"),
        ("phases[2].weeks", "phases-2-weeks"),
        ("phases[0].testing_days[1]", "phases-0-testing_days"),
        ("phases[0].attendance.session_types", "phases-0-attendance-0-session_types"),
        ("phases[1].attendance[2].days[0]", "phases-1-attendance-2-days"),
        ("phases[0].attendance", "phases-0-attendance-0-type"),
        ("phases[0].specimen.bonus.every", "phases-0-specimen-bonus_every"),
        ("phases[0].specimen.bonus", "phases-0-specimen-bonus_every"),
        ("phases[0].specimen.bowl[3].value_cents", "bowl-3-value"),
        ("phases[1].attendance[0].bowl", "bowl"),
        ("caps.per_enrollment_cents", "caps-per_enrollment"),
        ("caps.count_draws_at_expected_value", "caps-count_draws"),
        ("targets.substances[0]", "targets"),
        ("targets.combine", "combine"),
        ("unit_cents", "unit"),
        ("results.dilute", "results-dilute"),
    ],
)
def test_a_spec_path_names_the_field_that_made_it(path, name):
    assert builder.field_name(path) == name


def test_every_field_name_a_path_maps_to_is_on_the_form():
    fields = builder.apply_action(group_attendance(), "add_attendance", "0")

    names = builder.field_names(fields)

    assert {
        "phases-0-attendance-1-scheduled",
        "bowl-3-value",
        "caps-count_draws",
    } <= names
    assert {"phases-0-weeks", "phases-0-testing_days", "targets"} <= names


def test_rows_are_added_and_removed_by_number():
    fields = builder.blank_fields()

    fields = builder.apply_action(fields, "add_phase", "")
    fields = builder.apply_action(fields, "add_attendance", "1")
    fields = builder.apply_action(fields, "add_attendance", "1")
    fields = builder.apply_action(fields, "remove_attendance", "1-0")
    fields = builder.apply_action(fields, "remove_tier", "3")
    fields = builder.apply_action(fields, "remove_phase", "0")
    fields = builder.apply_action(fields, "remove_phase", "9")  # not there: no change

    assert [p["weeks_from"] for p in fields["phases"]] == ["13"]
    assert len(fields["phases"][0]["attendance"]) == 1
    assert [t["tier"] for t in fields["bowl"]] == ["good_job", "small", "large"]


def test_a_removed_row_leaves_no_gap_in_the_posted_rows():
    pairs = builder.flatten(preset_fields("ca-recovery-incentives"))
    without_first = [(k, v) for k, v in pairs if not k.startswith("phases-0-")]

    fields = builder.fields_from_form(MultiDict(without_first))

    assert [p["weeks_from"] for p in fields["phases"]] == ["13"]


def test_the_preview_of_attendance_only_counts_sessions():
    spec = rules.validate_spec(rules.load_preset("attendance-prize"))

    preview = builder.preview(spec)

    assert preview.attendance_only
    assert preview.best_cost_cents == builder.round_half_up(
        rules.theoretical_maximum(spec).cost_cents
    )
    assert preview.cohort.participants == 200
    assert preview.cohort.p_negative == builder.COHORT_P_NEGATIVE


def test_the_preview_is_the_same_every_time():
    spec = rules.validate_spec(rules.load_preset("higgins-1994"))

    first, second = builder.preview(spec), builder.preview(spec)

    assert not first.attendance_only
    assert first.best.evaluation.total_cents == 99750
    assert first.cohort.costs_cents == second.cohort.costs_cents


def test_removing_every_phase_asks_for_one():
    fields = builder.apply_action(group_attendance(), "remove_phase", "0")

    built = builder.build(fields)

    assert built.errors == {"phases": ["Add at least one phase."]}


def by_appointment(**changes) -> dict:
    """Group sessions booked by appointment: a missed or late one starts over."""
    booked = {
        "scheduled": True,
        "on_time_minutes": "10",
        "reset_on": ["missed", "late"],
        "recovery_after": "2",
    }
    return group_attendance(**{**booked, **changes})


def test_attendance_by_appointment_builds_and_fills_the_form_again():
    built = builder.build(by_appointment())

    (schedule,) = built.spec.phases[0].attendance
    assert (schedule.scheduled, schedule.on_time_minutes) == (True, 10)
    assert schedule.reset_on == {"missed", "late"}
    assert schedule.recovery_after == 2
    again, _ = builder.fields_from_document(built.document)
    assert posted(again)["phases"][0]["attendance"] == [
        posted(by_appointment())["phases"][0]["attendance"][0]
    ]


def test_attendance_by_appointment_previews_its_sessions():
    preview = builder.preview(builder.build(by_appointment()).spec)

    assert preview.attendance_only
    assert preview.best.evaluation.total_draws == 1 + 2 + 3 + 4 + 5 * 20


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"on_time_minutes": ""}, "phases-0-attendance-0-on_time_minutes"),
        ({"scheduled": False}, "phases-0-attendance-0-reset_on"),
        ({"on_time_minutes": "300"}, "phases-0-attendance-0-on_time_minutes"),
    ],
)
def test_a_reset_that_needs_appointments_is_an_error_on_its_field(changes, name):
    built = builder.build(by_appointment(**changes))

    assert name in built.errors
