"""POST /api/v1/results:import: a lab's CSV file, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import ApiToken, AuditLog, Event, LedgerEntry
from cm_service.services.cm import checkins, ledger
from tests.support.factories import NOW, START, make_enrolled, make_staff

HEADER = "participant_code,collected_on,analyte,result,value\n"
GOOD = (
    HEADER
    + "P-0001,2026-01-05,cocaine,negative,\n"
    + "P-0001,2026-01-05,opiates,positive,2000 ng/mL\n"
    + "p-0002,2026-01-07,cocaine,negative,\n"
)


def rows() -> dict[str, int]:
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m))
        for m in (Event, LedgerEntry, AuditLog)
    }


def send(api, text: str | bytes, content_type: str = "text/csv"):
    data = text.encode() if isinstance(text, str) else text
    return api.post(
        "/results:import", data=data, headers={"Content-Type": content_type}
    )


@pytest.fixture
def two(staff, clinic):
    first, _ = make_enrolled(staff, clinic, code="P-0001")
    second, _ = make_enrolled(staff, clinic, code="P-0002")
    return first, second


def test_a_file_records_each_line_and_awards_at_once(api, two):
    response = send(api, GOOD)

    assert response.status_code == 201
    assert [r["source"] for r in response.json["recorded"]] == [
        "line 2",
        "line 3",
        "line 4",
    ]
    assert sorted((a["award_key"], a["amount"]) for a in response.json["awards"]) == [
        ("specimen:2026-01-05", 10),
        ("specimen:2026-01-07", 10),
    ]
    refs = db.session.scalars(select(Event.source_ref)).all()
    assert all(r.startswith("lab:") and len(r) == 68 for r in refs)


def test_an_import_awards_what_a_staff_check_in_would(api, staff, clinic, two):
    first, _ = two
    by_hand, _ = make_enrolled(staff, clinic, code="P-0003")
    checkins.record_specimen(
        staff,
        by_hand.id,
        START,
        {"cocaine": "negative", "opiates": "positive"},
        now=NOW,
    )

    send(api, GOOD)

    assert ledger.balance_of(first.id) == ledger.balance_of(by_hand.id)


def test_the_lab_level_is_kept_in_the_audit_row(api, two):
    send(api, GOOD)

    details = [
        row.detail
        for row in db.session.scalars(
            select(AuditLog).where(AuditLog.action == "record_specimen")
        )
    ]
    assert [d.get("value") for d in details] == [None, "2000 ng/mL", None]
    assert {d["via"] for d in details} == {"lab_file"}


def test_importing_the_same_file_again_records_nothing_twice(api, two):
    send(api, GOOD)
    before = rows()

    again = send(api, GOOD)
    grown = send(api, GOOD + "P-0002,2026-01-09,cocaine,negative,\n")

    assert again.status_code == 200
    assert again.json["recorded"] == []
    assert len(again.json["already_recorded"]) == 3
    assert grown.status_code == 201
    assert [r["source"] for r in grown.json["recorded"]] == ["line 5"]
    assert rows()["Event"] == before["Event"] + 1


def test_one_bad_line_records_nothing_and_every_error_is_listed(api, two):
    before = rows()
    text = (
        HEADER
        + "P-0001,2026-01-05,cocaine,negative,\n"
        + "P-0001,2026-13-05,cocaine,negative,\n"
        + "P-0001,2026-01-06,glue,maybe,\n"
    )

    response = send(api, text)

    assert response.status_code == 422
    body = response.json
    assert (body["error"], body["field"]) == ("invalid_file", "line 3: collected_on")
    assert "3 errors" in body["message"]
    assert [e["field"] for e in body["errors"]] == [
        "line 3: collected_on",
        "line 4: analyte",
        "line 4: result",
    ]
    assert rows() == before


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (b"", "line 1", "header"),
        (b"\n\n", "line 1", "header"),
        (HEADER.encode(), "file", "no result lines"),
        (b"code,day\nP-0001,2026-01-05\n", "line 1", "Unknown column"),
        (b"participant_code,collected_on,analyte\n", "line 1", "Missing column"),
        (
            b"participant_code,collected_on,analyte,result,result\n",
            "line 1",
            "twice",
        ),
        (HEADER.encode() + b"P-0001,2026-01-05,cocaine\n", "line 2", "5 fields"),
        (HEADER.encode() + b"\xff\xfe,x\n", "file", "UTF-8"),
        (HEADER.encode() + b'P-0001,"2026-01-05\n', "line 2", "Not CSV"),
        (HEADER.encode() + b"P-0001,2026-01-05,cocaine,negative,\x00\n", "file", "NUL"),
        (
            HEADER.encode() + b"P-0404,2026-01-05,cocaine,negative,\n",
            "line 2: participant_code",
            "No participant P-0404",
        ),
        (
            HEADER.encode() + b",2026-01-05,cocaine,negative,\n",
            "line 2: participant_code",
            "required",
        ),
        (
            HEADER.encode() + b"P-0001,05/01/2026,cocaine,negative,\n",
            "line 2: collected_on",
            "YYYY-MM-DD",
        ),
        (
            HEADER.encode() + b"P-0001,2026-03-01,cocaine,negative,\n",
            "line 2: collected_on",
            "future",
        ),
        (
            HEADER.encode() + b"P-0001,2025-12-01,cocaine,negative,\n",
            "line 2: collected_on",
            "not enrolled",
        ),
        (
            HEADER.encode() + b"P-0001,2026-01-05,cocaine,negative,lots\n",
            "line 2: value",
            "level",
        ),
        (
            HEADER.encode()
            + b"P-0001,2026-01-05,cocaine,negative,\n"
            + b"P-0001,2026-01-05,cocaine,negative,\n",
            "line 3",
            "Repeats line 2",
        ),
    ],
)
def test_a_bad_file_is_422_naming_the_line_and_records_nothing(
    api, two, text, field, words
):
    before = rows()

    response = send(api, text)

    assert response.status_code == 422
    assert response.json["error"] == "invalid_file"
    assert response.json["field"] == field
    assert words in response.json["message"]
    assert response.json["errors"][0] == {
        "field": field,
        "message": response.json["message"],
    }
    assert rows() == before


def test_another_clinics_participant_is_unknown_here(api, two, other_clinic):
    elsewhere = make_staff(other_clinic, "elsewhere")
    make_enrolled(elsewhere, other_clinic, code="P-9999")
    before = rows()

    response = send(api, HEADER + "P-9999,2026-01-05,cocaine,negative,\n")

    assert response.status_code == 422
    assert response.json["field"] == "line 2: participant_code"
    assert rows() == before


def test_a_file_goes_to_the_tokens_clinic_only(other_api, two):
    response = send(other_api, GOOD)

    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_revoked_token_is_401(api, runner, two):
    token_id = db.session.scalar(select(ApiToken.id))
    runner.invoke(args=["cm", "token", "revoke", str(token_id)])

    response = send(api, GOOD)

    assert response.status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_an_auditor_token_may_not_import(auditor_api, two):
    response = send(auditor_api, GOOD)

    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_retry_with_the_idempotency_key_replays_the_first_response(api, two):
    headers = {"Content-Type": "text/csv", "Idempotency-Key": "lab-batch-7"}

    first = api.post("/results:import", data=GOOD.encode(), headers=headers)
    retry = api.post("/results:import", data=GOOD.encode(), headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json == first.json
