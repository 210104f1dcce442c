"""Prescribed-medication exemptions added or ended after enrolment: scoped, audited,
and settled at once from their dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Exemption, LedgerEntry
from cm_service.services.access import audit
from cm_service.services.cm import checkins, exemptions, participants
from cm_service.services.cm.ledger import balance_of
from cm_service.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.support.factories import NOW, START, make_enrolled, make_staff

TODAY = NOW.date()  # 2026-02-02, also in Chicago
PANEL = ["cocaine", "benzodiazepines"]


def counts() -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Exemption, LedgerEntry, AuditLog)
    )


def last_audit() -> AuditLog:
    return db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()


@pytest.fixture
def enrolled(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, targets=PANEL)
    return person, enrollment


def _add(actor, person, **changes):
    values = {
        "analyte": "benzodiazepines",
        "medication": "clonazepam",
        "starts_on": START,
        **changes,
    }
    return exemptions.add_exemption(
        actor,
        person.id,
        values.pop("analyte"),
        values.pop("medication"),
        values.pop("starts_on"),
        now=NOW,
        **values,
    )


def test_adding_an_exemption_writes_it_with_an_audit_row(staff, clinic, enrolled):
    person, enrollment = enrolled

    done = _add(staff, person, prescriber=" Dr Ortiz ")

    x = db.session.get(Exemption, done.exemption.id)
    assert (x.enrollment_id, x.analyte, x.medication, x.prescriber) == (
        enrollment.id,
        "benzodiazepines",
        "clonazepam",
        "Dr Ortiz",
    )
    assert (x.starts_on, x.ends_on) == (START, None)
    row = last_audit()
    assert (row.action, row.object_type, row.object_id) == (
        "add_exemption",
        "exemption",
        x.id,
    )
    assert (row.actor_id, row.clinic_id, row.participant_id) == (
        staff.id,
        clinic.id,
        person.id,
    )
    assert row.detail["analyte"] == "benzodiazepines"
    assert row.detail["medication"] == "clonazepam"
    assert row.detail["starts_on"] == START.isoformat()
    assert row.detail["ends_on"] is None
    assert audit.verify() is None


def test_an_exemption_added_later_turns_a_covered_positive_into_a_paid_negative(
    staff, enrolled
):
    person, _ = enrolled
    checkins.record_specimen(
        staff,
        person.id,
        START,
        {"cocaine": "negative", "benzodiazepines": "positive"},
        now=NOW,
    )
    assert balance_of(person.id).points == 0

    done = _add(staff, person, starts_on=START)

    assert [(e.award_key, e.amount) for e in done.posted] == [
        ("specimen:2026-01-05", 10)
    ]
    assert balance_of(person.id).points == 10
    assert last_audit().detail["posted"] == [["specimen:2026-01-05", 10]]


def test_an_exemption_starting_after_the_positive_does_not_cover_it(staff, enrolled):
    person, _ = enrolled
    checkins.record_specimen(
        staff,
        person.id,
        START,
        {"cocaine": "negative", "benzodiazepines": "positive"},
        now=NOW,
    )

    done = _add(staff, person, starts_on=START + timedelta(days=1))

    assert done.posted == []
    assert balance_of(person.id).points == 0


def test_ending_an_exemption_sets_its_last_day_and_audits_before_and_after(
    staff, clinic, enrolled
):
    person, _ = enrolled
    added = _add(staff, person).exemption

    done = exemptions.end_exemption(
        staff, person.id, added.id, START + timedelta(days=6), now=NOW
    )

    assert db.session.get(Exemption, added.id).ends_on == date(2026, 1, 11)
    row = last_audit()
    assert (row.action, row.object_type, row.object_id) == (
        "end_exemption",
        "exemption",
        added.id,
    )
    assert (row.clinic_id, row.participant_id) == (clinic.id, person.id)
    assert row.detail["ends_on"] == {"before": None, "after": "2026-01-11"}
    assert done.exemption.id == added.id
    assert audit.verify() is None


def test_after_the_end_a_positive_is_a_positive_again(staff, enrolled):
    person, _ = enrolled
    added = _add(staff, person).exemption
    for day in (START, START + timedelta(days=2)):
        checkins.record_specimen(
            staff,
            person.id,
            day,
            {"cocaine": "negative", "benzodiazepines": "positive"},
            now=NOW,
        )
    assert balance_of(person.id).points == 25  # 10 + 15: both exempt, so negative

    exemptions.end_exemption(staff, person.id, added.id, START, now=NOW)

    # The second day is a positive now; under no_clawback nothing is taken back,
    # but the next negative starts the schedule over.
    day = START + timedelta(days=4)
    result = checkins.record_specimen(
        staff,
        person.id,
        day,
        {"cocaine": "negative", "benzodiazepines": "negative"},
        now=NOW,
    )
    assert result.run == 1


def test_an_auditor_may_neither_add_nor_end(staff, clinic, enrolled):
    person, _ = enrolled
    added = _add(staff, person).exemption
    auditor = make_staff(clinic, "reader", role="auditor")
    before = counts()

    with pytest.raises(Forbidden):
        _add(auditor, person, analyte="opiates")
    with pytest.raises(Forbidden):
        exemptions.end_exemption(auditor, person.id, added.id, TODAY, now=NOW)

    assert counts() == before
    assert db.session.get(Exemption, added.id).ends_on is None


def test_an_admin_may_add(clinic, enrolled):
    person, _ = enrolled
    admin = make_staff(clinic, "boss", role="admin")

    assert _add(admin, person).exemption.id


def test_another_clinics_participant_or_exemption_is_not_found(
    staff, clinic, other_clinic, enrolled
):
    person, _ = enrolled
    elsewhere = make_staff(other_clinic, "elsewhere")
    theirs, _ = make_enrolled(elsewhere, other_clinic, code="P-0900", targets=PANEL)
    their_exemption = _add(elsewhere, theirs).exemption
    ours = _add(staff, person).exemption
    before = counts()

    with pytest.raises(NotFound):
        _add(staff, theirs)
    with pytest.raises(NotFound):
        exemptions.end_exemption(staff, theirs.id, their_exemption.id, TODAY, now=NOW)
    with pytest.raises(NotFound):  # our participant, their exemption
        exemptions.end_exemption(staff, person.id, their_exemption.id, TODAY, now=NOW)
    with pytest.raises(NotFound):  # their participant id with our exemption
        exemptions.end_exemption(elsewhere, theirs.id, ours.id, TODAY, now=NOW)
    with pytest.raises(NotFound):
        exemptions.end_exemption(staff, person.id, 2**40, TODAY, now=NOW)

    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"analyte": "kryptonite"}, "analyte"),
        ({"analyte": ""}, "analyte"),
        ({"analyte": None}, "analyte"),
        ({"medication": ""}, "medication"),
        ({"medication": "   "}, "medication"),
        ({"medication": "x" * 121}, "medication"),
        ({"medication": 7}, "medication"),
        ({"prescriber": "x" * 121}, "prescriber"),
        ({"starts_on": None}, "starts_on"),
        ({"starts_on": "2026-01-05"}, "starts_on"),
        ({"starts_on": datetime(2026, 1, 5)}, "starts_on"),
        ({"starts_on": START - timedelta(days=1)}, "starts_on"),
        ({"starts_on": date(1970, 1, 1)}, "starts_on"),
        ({"starts_on": date(9999, 12, 31)}, "starts_on"),
        ({"starts_on": TODAY + timedelta(days=367)}, "starts_on"),
        ({"ends_on": START - timedelta(days=1)}, "ends_on"),
        ({"ends_on": "2026-02-01"}, "ends_on"),
        ({"ends_on": date(9999, 12, 31)}, "ends_on"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(staff, enrolled, changes, field):
    person, _ = enrolled
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        _add(staff, person, **changes)

    assert refused.value.field == field
    assert refused.value.message
    assert counts() == before


def test_an_analyte_is_not_exempt_twice_over_the_same_days(staff, enrolled):
    person, _ = enrolled
    _add(staff, person, ends_on=START + timedelta(days=13))
    before = counts()

    with pytest.raises(Conflict) as refused:
        _add(staff, person, starts_on=START + timedelta(days=7), medication="diazepam")

    assert refused.value.field == "starts_on"
    assert counts() == before
    # After the first one ends, the next may start.
    assert _add(staff, person, starts_on=START + timedelta(days=14)).exemption.id


def test_a_participant_without_an_active_enrollment_cannot_be_given_one(staff, clinic):
    person = participants.register_participant(staff, clinic.id, "P-0002", now=NOW)
    before = counts()

    with pytest.raises(Conflict) as refused:
        _add(staff, person)

    assert refused.value.code == "not_enrolled"
    assert counts() == before


@pytest.mark.parametrize(
    ("ends_on", "field"),
    [
        (START - timedelta(days=1), "ends_on"),
        (None, "ends_on"),
        ("2026-02-02", "ends_on"),
        (date(9999, 12, 31), "ends_on"),
    ],
)
def test_a_bad_end_names_the_field_and_writes_nothing(staff, enrolled, ends_on, field):
    person, _ = enrolled
    added = _add(staff, person).exemption
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        exemptions.end_exemption(staff, person.id, added.id, ends_on, now=NOW)

    assert refused.value.field == field
    assert counts() == before
    assert db.session.get(Exemption, added.id).ends_on is None


def test_an_exemption_that_has_ended_cannot_be_ended_again(staff, enrolled):
    person, _ = enrolled
    added = _add(staff, person, ends_on=START + timedelta(days=6)).exemption
    before = counts()

    with pytest.raises(Conflict) as refused:
        exemptions.end_exemption(staff, person.id, added.id, TODAY, now=NOW)

    assert refused.value.code == "exemption_ended"
    assert counts() == before
