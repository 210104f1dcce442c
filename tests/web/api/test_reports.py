from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.cm import checkins
from tests.support.api import Api, make_token
from tests.support.consents import RESEARCH_QUERY, grant_research
from tests.support.factories import NOW, START, make_enrolled, make_staff

NEG = {"cocaine": "negative"}
WINDOW = "from=2026-01-05&to=2026-01-11"


@pytest.fixture
def enrolled(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    for on in ("2026-01-05", "2026-01-07", "2026-01-09"):
        checkins.record_specimen(
            staff, person.id, START.fromisoformat(on), NEG, now=NOW
        )
    grant_research(staff, person)  # identifiable exports below name the team
    return person


CONTRACT = {
    "participant", "episode", "protocol", "start_on", "completed", "weeks_retained",
    "tests_scheduled", "tests_submitted", "negatives", "lda_tests_missing_positive",
    "lda_tests_missing_ignored", "use_pattern", "cost_cents",
    "cost_per_negative_cents", "share_of_maximum", "sessions_booked",
    "sessions_attended",
}  # fmt: skip


def test_the_outcome_report_has_one_row_per_episode(auditor_api, enrolled):
    response = auditor_api.get(f"/reports/outcomes?{WINDOW}&{RESEARCH_QUERY}")

    assert response.status_code == 200
    body = response.json
    assert body["missing_convention"] == "positive"
    assert response.headers["X-Report-From"] == "2026-01-05"
    assert "/api/v1/reports/dictionary" in response.headers["Link"]
    (row,) = body["episodes"]
    assert CONTRACT <= set(row)
    assert (row["participant"], row["episode"], row["negatives"]) == ("P-0001", 1, 3)
    assert (row["lda_tests_missing_positive"], row["use_pattern"]) == (3, "---")
    assert row["percent_negative_of_scheduled"] == 100.0
    # $2.50 + $3.75 + $5.00 and the $10 bonus on the third negative.
    assert row["cost_cents"] == body["summary"]["cost_cents"] == 250 + 375 + 1500
    assert body["by_protocol"]["higgins-1994 v1"]["episodes"] == 1


def test_the_outcome_report_as_csv_is_an_audited_download(auditor_api, enrolled):
    response = auditor_api.get(
        f"/reports/outcomes?{WINDOW}&format=csv&missing=ignored&{RESEARCH_QUERY}"
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.splitlines()[0].startswith("participant,episode,")
    assert "\nP-0001,1," in text
    assert response.headers["X-Report-Missing"] == "ignored"
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export_outcome_report")
    ).one()
    assert (audit.actor_type, audit.actor_role) == ("api", "auditor")


def test_the_report_leaves_out_other_clinics(app, enrolled, other_clinic):
    elsewhere = make_staff(other_clinic, "elsewhere")
    grant_research(elsewhere, make_enrolled(elsewhere, other_clinic, code="P-9999")[0])
    other_api = Api(app.test_client(), make_token(other_clinic, "auditor"))

    response = other_api.get(f"/reports/outcomes?{WINDOW}&{RESEARCH_QUERY}")

    assert [r["participant"] for r in response.json["episodes"]] == ["P-9999"]


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


def test_the_long_format_has_one_row_per_scheduled_test(auditor_api, enrolled):
    response = auditor_api.get(f"/reports/tests?{WINDOW}&format=csv&{RESEARCH_QUERY}")

    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == (
        "participant,episode,date,week,kind,session_type,outcome,pattern,cents,draws"
    )
    assert lines[1:] == [
        "P-0001,1,2026-01-05,1,test,,negative,-,250,0",
        "P-0001,1,2026-01-07,1,test,,negative,-,375,0",
        "P-0001,1,2026-01-09,1,test,,negative,-,1500,0",
    ]


def test_a_deidentified_export_hides_codes_and_dates_and_is_audited(
    auditor_api, enrolled
):
    query = "from=2026-01-05&to=2026-01-11&deidentified=1"

    episodes = auditor_api.get(f"/reports/outcomes?{query}").json["episodes"]
    tests = auditor_api.get(f"/reports/tests?{query}").json["tests"]

    assert episodes[0]["participant"].startswith("S-")
    assert episodes[0]["start_on"] is None
    assert [t["date"] for t in tests] == [0, 2, 4]
    assert "P-0001" not in str(episodes) + str(tests)
    audits = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export_outcome_report")
    ).all()
    assert [(a.detail["rows"], a.detail["deidentified"]) for a in audits] == [
        ("outcomes", True),
        ("tests", True),
    ]


def test_the_dictionary_defines_every_exported_column(auditor_api, enrolled):
    csv_header = (
        auditor_api.get(f"/reports/outcomes?{WINDOW}&format=csv&{RESEARCH_QUERY}")
        .get_data(as_text=True)
        .splitlines()[0]
    )

    dictionary = auditor_api.get("/reports/dictionary").json

    defined = [f["name"] for f in dictionary["episodes"]]
    assert defined == csv_header.split(",")
    assert all(len(f["definition"]) > 10 for f in dictionary["episodes"])
