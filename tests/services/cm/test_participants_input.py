"""register_participant and enroll refuse bad values with InvalidInput(field), so the
API, the CLI and the staff forms all show a 4xx naming the field, never a 500."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Enrollment, Exemption, Participant
from cm_service.services.cm import participants
from cm_service.services.errors import InvalidInput
from tests.support.factories import NOW, START, protocol_id


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Participant, Enrollment, Exemption, AuditLog)
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"code": 42}, "code"),
        ({"code": ["P-1"]}, "code"),
        ({"code": None}, "code"),
        ({"code": "P-" + "1" * 40}, "code"),
        ({"display_name": "x" * 121}, "display_name"),
        ({"display_name": 7}, "display_name"),
        ({"display_name": "Sam\x00"}, "display_name"),
        ({"pin": 123456}, "pin"),
        ({"pin": "12ab56"}, "pin"),
        # Issue 15, defect 6: a newline can never be typed; Unicode digits neither.
        ({"pin": "284917\n"}, "pin"),
        ({"pin": "\uff12\uff18\uff14\uff19\uff11\uff17"}, "pin"),
        ({"pin": "\u0662\u0668\u0664\u0669\u0661\u0667"}, "pin"),
        # Trivial PINs: repeats, runs (up, down, wrapping), common shapes.
        ({"pin": "000000"}, "pin"),
        ({"pin": "111111"}, "pin"),
        ({"pin": "123456"}, "pin"),
        ({"pin": "654321"}, "pin"),
        ({"pin": "890123"}, "pin"),
        ({"pin": "121212"}, "pin"),
        ({"pin": "123123"}, "pin"),
        ({"pin": "159753"}, "pin"),
    ],
)
def test_registering_with_a_bad_value_names_the_field(staff, clinic, args, field):
    before = counts()
    values = {"code": "P-0001", **args}
    code = values.pop("code")

    with pytest.raises(InvalidInput) as refused:
        participants.register_participant(staff, clinic.id, code, now=NOW, **values)

    assert refused.value.field == field
    assert counts() == before


def test_a_display_name_of_120_characters_is_kept_stripped(staff, clinic):
    person = participants.register_participant(
        staff, clinic.id, " p-0001 ", now=NOW, display_name=" " + "S" * 120 + " "
    )

    assert (person.code, person.display_name) == ("P-0001", "S" * 120)


EXEMPTION = {
    "analyte": "benzodiazepines",
    "medication": "Clonazepam",
    "starts_on": START,
}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"protocol_id": "higgins"}, "protocol"),
        ({"protocol_id": 2**40}, "protocol"),
        ({"start_on": "2026-01-05"}, "start_on"),
        ({"start_on": datetime(2026, 1, 5)}, "start_on"),
        ({"testing_days": {"x": [0]}}, "testing_days.x"),
        ({"testing_days": {"-1": [0]}}, "testing_days.-1"),
        ({"testing_days": {99: [0]}}, "testing_days.99"),
        ({"testing_days": {0: 3}}, "testing_days"),
        ({"testing_days": {0: "mon"}}, "testing_days"),
        ({"testing_days": {0: [7]}}, "testing_days"),
        ({"testing_days": [0, 2]}, "testing_days"),
        ({"targets": "cocaine"}, "targets"),
        ({"targets": [3]}, "targets"),
        ({"targets": 3}, "targets"),
        ({"exemptions": ["benzodiazepines"]}, "exemptions[0]"),
        ({"exemptions": [{**EXEMPTION, "analyte": 5}]}, "exemptions[0].analyte"),
        (
            {"exemptions": [{**EXEMPTION, "medication": "x" * 121}]},
            "exemptions[0].medication",
        ),
        ({"exemptions": [{**EXEMPTION, "medication": 5}]}, "exemptions[0].medication"),
        (
            {"exemptions": [{**EXEMPTION, "prescriber": "x" * 121}]},
            "exemptions[0].prescriber",
        ),
        ({"exemptions": [{**EXEMPTION, "starts_on": "x"}]}, "exemptions[0].starts_on"),
    ],
)
def test_enrolling_with_a_bad_value_names_the_field_and_writes_nothing(
    staff, clinic, args, field
):
    person = participants.register_participant(staff, clinic.id, "P-0001", now=NOW)
    values = {"protocol_id": protocol_id(clinic.id, "higgins-1994"), "start_on": START}
    values.update(args)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        participants.enroll(
            staff,
            person.id,
            values.pop("protocol_id"),
            values.pop("start_on"),
            now=NOW,
            **values,
        )

    assert refused.value.field == field
    assert counts() == before


def test_phase_keys_may_be_numbers_or_digit_strings(staff, clinic):
    person = participants.register_participant(staff, clinic.id, "P-0001", now=NOW)

    enrollment = participants.enroll(
        staff,
        person.id,
        protocol_id(clinic.id, "higgins-1994"),
        START,
        now=NOW,
        testing_days={0: [3, 1, 1], "1": (2,)},
        exemptions=[{**EXEMPTION, "prescriber": " Dr Ruiz "}],
    )

    assert enrollment.testing_days == {"0": [1, 3], "1": [2]}
    assert enrollment.exemptions[0].prescriber == "Dr Ruiz"


def test_a_pin_with_no_pattern_is_accepted(staff, clinic):
    person = participants.register_participant(
        staff, clinic.id, "P-0001", now=NOW, pin="284917"
    )

    assert person.pin_hash is not None
