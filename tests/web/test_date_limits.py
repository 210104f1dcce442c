"""Dates people type are kept to what the calendar arithmetic can hold (issue 15):
a far-future enrolment, pause, closure, report window or custody month is a form
error (4xx), never a 500 nor a row that breaks the Today board afterwards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import ClinicClosure, Enrollment, Pause
from cm_service.services.cm import closures, participants
from cm_service.services.errors import InvalidInput
from cm_service.services.reads import reports
from tests.support.api import Api, make_token
from tests.support.factories import NOW, START, make_enrolled, make_staff, protocol_id
from tests.support.web import csrf_token, log_in

FAR_FUTURE = "The start date is more than a year from today: check the year."


@pytest.fixture(autouse=True)
def frozen_clock(clock):
    return clock


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("start_on", "message"),
    [
        ("9999-12-25", FAR_FUTURE),
        ("2027-02-04", FAR_FUTURE),  # NOW is 2026-02-02
        ("1969-12-31", "Enter a date from 1970-01-01."),
    ],
)
def test_the_staff_form_refuses_an_enrolment_start_out_of_range(
    app, clinic, staff, start_on, message
):
    client = app.test_client()
    log_in(client, "tech")
    person = participants.register_participant(staff, clinic.id, "P-0042", now=NOW)
    url = f"/staff/participants/{person.id}/enroll"
    body = {
        "csrf_token": csrf_token(client, url),
        "protocol": str(protocol_id(clinic.id, "higgins-1994")),
        "start_on": start_on,
        "exempt_analyte": "",
    }

    response = client.post(url, data=body)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="start_on-error">{message}</p>' in page
    assert _count(Enrollment) == 0
    assert client.get("/staff/today").status_code == 200


def test_a_start_within_a_year_is_still_accepted(staff, clinic):
    person = participants.register_participant(staff, clinic.id, "P-0042", now=NOW)

    enrollment = participants.enroll(
        staff,
        person.id,
        protocol_id(clinic.id, "higgins-1994"),
        date(2027, 2, 1),
        now=NOW,
    )

    assert enrollment.start_on == date(2027, 2, 1)


@pytest.mark.parametrize("start_on", ["2099-12-25", "9999-12-25", "1969-12-31"])
def test_the_api_refuses_an_enrolment_start_out_of_range(app, clinic, staff, start_on):
    participants.register_participant(staff, clinic.id, "P-0042", now=NOW)
    api = Api(app.test_client(), make_token(clinic))

    response = api.post(
        "/participants/P-0042/enrollments",
        json={"protocol": "higgins-1994", "start_on": start_on},
    )

    assert response.status_code == 422
    assert response.json["field"] == "start_on"
    assert _count(Enrollment) == 0
    assert api.get("/participants/P-0042").status_code == 200
    assert api.get("/participants/P-0042/balance").status_code == 200


def test_pauses_and_closures_refuse_far_dates(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    admin = make_staff(clinic, "boss", "admin")

    with pytest.raises(InvalidInput) as starts:
        closures.pause_participant(
            staff, person.id, date(9999, 12, 25), None, "hospital", now=NOW
        )
    with pytest.raises(InvalidInput) as ends:
        closures.pause_participant(
            staff, person.id, date(2026, 2, 2), date(9999, 12, 25), "hospital", now=NOW
        )
    with pytest.raises(InvalidInput) as closed:
        closures.add_closure(admin, date(9999, 12, 25), "holiday", now=NOW)

    assert (starts.value.field, ends.value.field) == ("starts_on", "ends_on")
    assert closed.value.field == "closed_on"
    assert _count(Pause) == _count(ClinicClosure) == 0


def test_a_report_window_out_of_range_is_refused(clinic):
    auditor = make_staff(clinic, "reader", "auditor")

    with pytest.raises(InvalidInput) as refused:
        reports.outcome_report(auditor, date(9999, 12, 1), date(9999, 12, 31), now=NOW)

    assert refused.value.field == "from"


@pytest.mark.parametrize(
    "query", ["from=9999-12-01&to=9999-12-31", "from=2026-01-05&to=9999-12-31"]
)
def test_the_report_page_refuses_a_far_window_with_a_message(app, clinic, staff, query):
    make_enrolled(staff, clinic)
    make_staff(clinic, "boss", "auditor")
    client = app.test_client()
    log_in(client, "boss")

    for path in ("/staff/reports/", "/staff/reports/outcomes.csv"):
        response = client.get(f"{path}?{query}")

        assert response.status_code == 422
        assert 'id="window-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1969-12"])
def test_the_custody_page_refuses_a_far_month_with_a_message(app, clinic, staff, month):
    client = app.test_client()
    log_in(client, "tech")

    response = client.get(f"/staff/custody?month={month}")

    assert response.status_code == 422
    assert 'id="month-error"' in response.get_data(as_text=True)


def test_pauses_and_closures_refuse_far_past_dates(staff, clinic):
    # Issue 15, defect 8: a pause from 0001-01-01 (or 1970) excused every test.
    person, _ = make_enrolled(staff, clinic)
    admin = make_staff(clinic, "boss", "admin")

    with pytest.raises(InvalidInput) as before_enrolment:
        closures.pause_participant(
            staff, person.id, START - timedelta(days=1), None, "hospital", now=NOW
        )
    with pytest.raises(InvalidInput) as ancient:
        closures.pause_participant(
            staff, person.id, date(1970, 1, 1), None, "hospital", now=NOW
        )
    with pytest.raises(InvalidInput) as old_closure:
        closures.add_closure(admin, date(2024, 12, 25), "holiday", now=NOW)

    assert before_enrolment.value.field == ancient.value.field == "starts_on"
    assert f"from {START.isoformat()}" in before_enrolment.value.message
    assert old_closure.value.field == "closed_on"
    assert _count(Pause) == _count(ClinicClosure) == 0
