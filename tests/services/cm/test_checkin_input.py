from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event, LedgerEntry
from cm_service.services.cm import checkins
from cm_service.services.errors import InvalidInput
from tests.support.factories import NOW, START, make_enrolled


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("results", "on", "field"),
    [
        ({}, START, "results"),
        ({"cocaine": "maybe"}, START, "results.cocaine"),
        ({"cocain": "negative"}, START, "results.cocain"),
        ({"cocaine": "negative"}, START - timedelta(days=1), "collected_on"),
        ({"cocaine": "negative"}, date(2027, 1, 1), "collected_on"),
        ({"cocaine": "negative"}, "2026-01-05", "collected_on"),
    ],
)
def test_bad_specimen_input_names_the_field_and_writes_nothing(
    staff, clinic, results, on, field
):
    person, _ = make_enrolled(staff, clinic)
    audits = _count(AuditLog)

    with pytest.raises(InvalidInput) as error:
        checkins.record_specimen(staff, person.id, on, results, now=NOW)

    assert error.value.field == field
    assert error.value.message
    assert (_count(Event), _count(LedgerEntry), _count(AuditLog)) == (0, 0, audits)


@pytest.mark.parametrize(
    "results", [{"cocaine": "negative"}, {"cocaine": "positive", "opiates": "dilute"}]
)
def test_a_refused_specimen_with_results_is_refused_and_writes_nothing(
    staff, clinic, results
):
    person, _ = make_enrolled(staff, clinic)
    audits = _count(AuditLog)

    with pytest.raises(InvalidInput) as error:
        checkins.record_specimen(
            staff, person.id, START, results, now=NOW, refused=True
        )

    assert error.value.field == "refused"
    assert (_count(Event), _count(LedgerEntry), _count(AuditLog)) == (0, 0, audits)


@pytest.mark.parametrize("brac", [-1, 601, True, "0.02"])
def test_bad_breath_reading_is_refused(staff, clinic, brac):
    person, _ = make_enrolled(staff, clinic)

    with pytest.raises(InvalidInput) as error:
        checkins.record_breath(staff, person.id, START, brac, now=NOW)

    assert error.value.field == "brac"
    assert _count(Event) == 0


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s, p: checkins.excuse_day(s, p, START, " ", now=NOW), "reason"),
        (
            lambda s, p: checkins.record_attendance(s, p, START, "party", now=NOW),
            "session_type",
        ),
    ],
)
def test_bad_excuse_or_attendance_is_refused(staff, clinic, call, field):
    person, _ = make_enrolled(staff, clinic)

    with pytest.raises(InvalidInput) as error:
        call(staff, person.id)

    assert error.value.field == field
    assert _count(Event) == 0


def test_void_needs_a_reason(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    result = checkins.record_specimen(
        staff, person.id, START, {"cocaine": "negative"}, now=NOW
    )

    with pytest.raises(InvalidInput) as error:
        checkins.void_event(staff, result.event.id, "", now=NOW)

    assert error.value.field == "reason"


def test_a_prescribed_medication_is_not_a_positive(staff, clinic):
    person, _ = make_enrolled(
        staff,
        clinic,
        key="petry-ctn-2005",
        exemptions=[
            {
                "analyte": "amphetamine",
                "medication": "Adderall",
                "starts_on": START,
                "ends_on": None,
            }
        ],
    )
    results = {
        "cocaine": "negative",
        "methamphetamine": "negative",
        "amphetamine": "positive",
        "alcohol": "negative",
    }

    result = checkins.record_specimen(staff, person.id, START, results, now=NOW)

    assert result.run == 1
    assert result.balance.draws == 1
