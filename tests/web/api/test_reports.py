from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services import checkins
from tests.factories import NOW, START, make_enrolled, make_staff
from tests.web.api.conftest import Api, make_token

NEG = {"cocaine": "negative"}


@pytest.fixture
def enrolled(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    for on in ("2026-01-05", "2026-01-07", "2026-01-09"):
        checkins.record_specimen(
            staff, person.id, START.fromisoformat(on), NEG, now=NOW
        )
    return person


def test_the_outcome_report_states_its_conventions(auditor_api, enrolled):
    response = auditor_api.get("/reports/outcomes?from=2026-01-05&to=2026-01-11")

    assert response.status_code == 200
    body = response.json
    assert body["missing"] == "positive"
    assert "missing=positive" in body["conventions"]["missing"]
    row = body["participants"][0]
    assert (row["code"], row["negatives"], row["lda_tests"]) == ("P-0001", 3, 3)
    assert row["lda_weeks"] == 1.0
    assert row["percent_negative_of_scheduled"] == 100.0
    assert body["summary"]["earned_cents"] == 250 + 375 + 500 + 1000


def test_the_outcome_report_as_csv_is_an_audited_download(auditor_api, enrolled):
    response = auditor_api.get(
        "/reports/outcomes?from=2026-01-05&to=2026-01-11&format=csv&missing=ignored"
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert "missing=ignored" in text.splitlines()[0]
    assert "\nP-0001," in text
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export_outcome_report")
    ).one()
    assert (audit.actor_type, audit.actor_role) == ("api", "auditor")


def test_the_report_leaves_out_other_clinics(app, enrolled, other_clinic):
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-9999")
    other_api = Api(app.test_client(), make_token(other_clinic, "auditor"))

    response = other_api.get("/reports/outcomes?from=2026-01-05&to=2026-01-11")

    assert [r["code"] for r in response.json["participants"]] == ["P-9999"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "from"),
        ("from=2026-01-05", "to"),
        ("from=yesterday&to=2026-01-11", "from"),
        ("from=2026-01-11&to=2026-01-05", "to"),
        ("from=2026-01-05&to=2026-01-11&format=pdf", "format"),
        ("from=2026-01-05&to=2026-01-11&missing=negative", "missing"),
    ],
)
def test_a_bad_report_query_is_422_and_not_audited(auditor_api, enrolled, query, field):
    before = db.session.scalar(select(func.count()).select_from(AuditLog))

    response = auditor_api.get(f"/reports/outcomes?{query}")

    assert response.status_code == 422
    assert response.json["field"] == field
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before


@pytest.mark.parametrize("query", ["", "&format=csv", "&format=json", "&format=pdf"])
def test_a_staff_token_cannot_export_the_participant_level_report(api, enrolled, query):
    """The web shows this report to admins and auditors only (issue 15)."""
    before = db.session.scalar(select(func.count()).select_from(AuditLog))

    response = api.get(f"/reports/outcomes?from=2026-01-05&to=2026-01-11{query}")

    assert response.status_code == 403
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error", "field", "message"}
    assert response.json["error"] == "forbidden"
    assert "P-0001" not in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before
