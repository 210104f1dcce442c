from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.cm import checkins
from tests.support.consents import RESEARCH_QUERY, grant_research
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.web import log_in

WINDOW = "from=2026-01-05&to=2026-01-11"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def enrolled(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(staff, person.id, START, {"cocaine": "negative"}, now=NOW)
    return person


def audit_rows() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "export_outcome_report")
    )


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_see_the_report_with_its_conventions(
    client, clinic, enrolled, role
):
    make_staff(clinic, "boss", role)
    log_in(client, "boss")

    response = client.get(f"/staff/reports/?{WINDOW}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "P-0001" in page
    assert "What these mean" in page
    assert "Clinic rates count episodes" in page
    assert "$2.50" in page  # the first negative, 10 points x 25 cents
    assert audit_rows() == 0  # looking is not an export


def test_the_csv_export_is_audited(client, clinic, staff, enrolled):
    grant_research(staff, enrolled)
    make_staff(clinic, "boss", "auditor")
    log_in(client, "boss")

    response = client.get(f"/staff/reports/outcomes.csv?{WINDOW}&{RESEARCH_QUERY}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "\nP-0001," in response.get_data(as_text=True)
    assert audit_rows() == 1


def test_front_desk_staff_cannot_see_reports(client, staff, enrolled):
    log_in(client, "tech")

    assert client.get("/staff/reports/").status_code == 403
    assert client.get(f"/staff/reports/outcomes.csv?{WINDOW}").status_code == 403
    assert audit_rows() == 0


def test_reports_need_a_login(client, enrolled):
    response = client.get("/staff/reports/")

    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=soon&to=2026-01-11", "YYYY-MM-DD"),
        ("from=2026-01-11&to=2026-01-05", "at most three years"),
        (f"{WINDOW}&missing=maybe", "missing=ignored"),
    ],
)
def test_a_bad_window_shows_the_error_and_exports_nothing(
    client, clinic, enrolled, query, message
):
    make_staff(clinic, "boss", "admin")
    log_in(client, "boss")

    page = client.get(f"/staff/reports/?{query}")
    export = client.get(f"/staff/reports/outcomes.csv?{query}")

    assert page.status_code == export.status_code == 422
    assert message in page.get_data(as_text=True)
    assert audit_rows() == 0
