from __future__ import annotations

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Enrollment, Exemption, Participant
from cm_service.services.cm import participants
from tests.support.factories import NOW, make_enrolled, make_staff, protocol_id
from tests.support.pages import count, page_of
from tests.support.web import csrf_token


def _register(client, **data):
    token = csrf_token(client, "/staff/participants/new")
    body = {"code": "P-0042", "display_name": "", "pin": "", **data}
    return client.post("/staff/participants/new", data={"csrf_token": token, **body})


def test_registering_then_enrolling_with_days_targets_and_an_exemption(
    logged_in, clinic
):
    registered = _register(logged_in, code="p-0042", display_name="Sam", pin="284917")
    assert registered.status_code == 302
    person = db.session.scalars(select(Participant)).one()
    assert (person.code, person.display_name) == ("P-0042", "Sam")
    url = registered.headers["Location"]
    token = csrf_token(logged_in, url)

    enrolled = logged_in.post(
        url,
        data={
            "csrf_token": token,
            "protocol": str(protocol_id(clinic.id, "higgins-1994")),
            "start_on": "2026-01-05",
            "testing_days": ["0", "3"],
            "targets": ["cocaine", "benzodiazepines"],
            "exempt_analyte": "benzodiazepines",
            "exempt_medication": "Clonazepam",
            "exempt_from": "2026-01-05",
            "exempt_until": "",
        },
    )

    assert enrolled.status_code == 302
    enrollment = db.session.scalars(select(Enrollment)).one()
    assert enrollment.testing_days == {"0": [0, 3]}
    assert enrollment.targets == ["benzodiazepines", "cocaine"]
    assert db.session.scalars(select(Exemption.medication)).all() == ["Clonazepam"]


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        ({"code": ""}, 422, "code", "Enter a code, e.g. P-0042."),
        (
            {"code": "P 42!"},
            422,
            "code",
            "Use 2-40 letters, digits or dashes, e.g. P-0042.",
        ),
        ({"code": "P-0001"}, 409, "code", "P-0001 is already registered."),
        ({"pin": "12ab"}, 422, "pin", "The PIN is 6 to 12 digits."),
    ],
)
def test_bad_registrations_are_refused_next_to_the_field(
    logged_in, person, data, status, field, message
):
    before = count(Participant)

    response = _register(logged_in, **data)

    assert response.status_code == status
    assert f'<p class="error" id="{field}-error">{message}</p>' in page_of(response)
    assert count(Participant) == before


GOOD = {"start_on": "2026-01-05", "exempt_analyte": ""}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"protocol": ""}, "protocol", "Choose one of this clinic&#39;s protocols."),
        (
            {"protocol": "9999"},
            "protocol",
            "Choose one of this clinic&#39;s protocols.",
        ),
        ({"start_on": "5 Jan"}, "start_on", "Enter the date as YYYY-MM-DD."),
        (
            {"testing_days": ["9"]},
            "testing_days",
            "&#39;9&#39; is not a valid choice for this field.",
        ),
        (
            {"exempt_analyte": "benzodiazepines", "exempt_from": "2026-01-05"},
            "exempt_medication",
            "Name the prescribed medication.",
        ),
        (
            {"exempt_analyte": "benzodiazepines", "exempt_medication": "Clonazepam"},
            "exempt_from",
            "Enter the start date as YYYY-MM-DD.",
        ),
        (
            {
                "exempt_analyte": "benzodiazepines",
                "exempt_medication": "Clonazepam",
                "exempt_from": "2026-02-01",
                "exempt_until": "2026-01-01",
            },
            "exempt_until",
            "The end date must follow the start date.",
        ),
    ],
)
def test_bad_enrollments_are_refused_next_to_the_field(
    logged_in, clinic, staff, data, field, message
):
    person = participants.register_participant(staff, clinic.id, "P-0042", now=NOW)
    url = f"/staff/participants/{person.id}/enroll"
    token = csrf_token(logged_in, url)
    body = {"protocol": str(protocol_id(clinic.id, "higgins-1994")), **GOOD, **data}

    response = logged_in.post(url, data={"csrf_token": token, **body})

    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}</p>' in page_of(response)
    assert count(Enrollment) == 0


def test_discharging_then_re_enrolling(logged_in, clinic, person):
    url = f"/staff/participants/{person.id}/enroll"
    token = csrf_token(logged_in, url)

    ended = logged_in.post(
        f"/staff/participants/{person.id}/end",
        data={"csrf_token": token, "status": "discharged", "ends_on": "2026-01-30"},
    )
    again = logged_in.post(
        url,
        data={
            "csrf_token": token,
            **GOOD,
            "start_on": "2026-02-02",
            "protocol": str(protocol_id(clinic.id, "petry-ctn-2005")),
        },
    )

    assert (ended.status_code, again.status_code) == (302, 302)
    statuses = db.session.scalars(select(Enrollment.status).order_by(Enrollment.id))
    assert statuses.all() == ["discharged", "active"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"status": "discharged", "ends_on": "2025-12-01"},
            "The end date must follow the start date.",
        ),
        (
            {"status": "discharged", "ends_on": "2026-03-01"},
            "The end date cannot be in the future.",
        ),
        ({"status": "discharged", "ends_on": ""}, "Enter the date as YYYY-MM-DD."),
    ],
)
def test_bad_discharges_are_refused(logged_in, person, data, message):
    token = csrf_token(logged_in, "/staff/today")

    response = logged_in.post(
        f"/staff/participants/{person.id}/end", data={"csrf_token": token, **data}
    )

    assert response.status_code == 422
    assert f'<p class="error" id="ends_on-error">{message}</p>' in page_of(response)
    assert db.session.scalars(select(Enrollment.status)).one() == "active"


def test_another_clinics_participant_cannot_be_enrolled_or_ended(
    logged_in, other_clinic
):
    outsider, _ = make_enrolled(make_staff(other_clinic, "x"), other_clinic)
    token = csrf_token(logged_in, "/staff/today")

    assert logged_in.get(f"/staff/participants/{outsider.id}/enroll").status_code == 404
    assert (
        logged_in.post(
            f"/staff/participants/{outsider.id}/end",
            data={"csrf_token": token, "status": "discharged", "ends_on": "2026-01-30"},
        ).status_code
        == 404
    )
