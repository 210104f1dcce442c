"""Bad input on every route: a 400 or 422 naming the field, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import (
    AuditLog,
    Enrollment,
    Event,
    EventVoid,
    LedgerEntry,
    Participant,
)
from cm_service.services.cm import checkins
from tests.support.factories import NOW, START, make_enrolled

NEG = {"cocaine": "negative"}


def rows() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Participant, Enrollment, Event, EventVoid, LedgerEntry, AuditLog)
    }


@pytest.fixture
def enrolled(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    return checkins.record_specimen(staff, person.id, START, NEG, now=NOW).event


def post_raw(api, path: str, data: bytes):
    return api.post(path, data=data, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    "path",
    [
        "/participants",
        "/participants/P-0001/enrollments",
        "/participants/P-0001/events",
        "/events/{event}/void",
        "/participants/P-0001/redemptions",
        "/participants/P-0001/draws",
    ],
)
@pytest.mark.parametrize(
    "data", [b"{", b"[1, 2]", b'"text"', b"{'a': 1}", b'{"on": NaN}', b"\xff\xfe"]
)
def test_malformed_json_is_400_with_no_field(api, enrolled, path, data):
    before = rows()

    response = post_raw(api, path.format(event=enrolled.id), data)

    assert response.status_code == 400
    assert response.json["error"] == "malformed_json"
    assert response.json["field"] is None
    assert rows() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"code": 42}, "code"),
        ({"code": "P 1"}, "code"),
        ({"code": "P-0009", "pin": 123456}, "pin"),
        ({"code": "P-0009", "pin": "12ab56"}, "pin"),
        ({"code": "P-0009", "display_name": "x" * 121}, "display_name"),
        ({"code": "P-0009", "display_name": "nul\x00"}, "display_name"),
        ({"code": "P-0009", "colour": "red"}, "colour"),
    ],
)
def test_registering_with_bad_input_writes_nothing(api, enrolled, body, field):
    before = rows()

    response = api.post("/participants", json=body)

    assert response.status_code == 422
    assert response.json["field"] == field
    assert rows() == before


def test_registering_a_taken_code_is_409(api, enrolled):
    response = api.post("/participants", json={"code": "p-0001"})

    assert response.status_code == 409
    assert (response.json["error"], response.json["field"]) == ("code_taken", "code")


GOOD_ENROLLMENT = {"protocol": "higgins-1994", "start_on": "2026-01-05"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"protocol": None}, "protocol"),
        ({"protocol": "no-such"}, "protocol"),
        ({"protocol": 7}, "protocol"),
        ({"protocol_id": "1"}, "protocol_id"),
        ({"protocol_id": 999999}, "protocol_id"),
        ({"start_on": None}, "start_on"),
        ({"start_on": "05/01/2026"}, "start_on"),
        ({"start_on": "2026-02-30"}, "start_on"),
        ({"start_on": "9999-12-31"}, "start_on"),
        ({"testing_days": [0, 2]}, "testing_days"),
        ({"testing_days": {"x": [0]}}, "testing_days.x"),
        ({"testing_days": {"0": [7]}}, "testing_days.0"),
        ({"testing_days": {"0": []}}, "testing_days"),
        ({"targets": "cocaine"}, "targets"),
        ({"targets": [1]}, "targets[0]"),
        ({"targets": ["kryptonite"]}, "targets"),
        ({"exemptions": {}}, "exemptions"),
        ({"exemptions": ["x"]}, "exemptions[0]"),
        (
            {"exemptions": [{"analyte": "opiates", "medication": "codeine"}]},
            "exemptions[0].starts_on",
        ),
        (
            {"exemptions": [{"analyte": "opiates", "starts_on": "2026-01-05"}]},
            "exemptions[0].medication",
        ),
        (
            {
                "exemptions": [
                    {
                        "analyte": "opiates",
                        "medication": "x",
                        "starts_on": "2026-01-05",
                        "ends_on": "2026-01-01",
                    }
                ]
            },
            "exemptions[0].ends_on",
        ),
        (
            {
                "exemptions": [
                    {
                        "analyte": "x",
                        "medication": "m",
                        "dose": 1,
                        "starts_on": "2026-01-05",
                    }
                ]
            },
            "exemptions[0].dose",
        ),
    ],
)
def test_enrolling_with_bad_input_writes_nothing(api, app, change, field):
    api.post("/participants", json={"code": "P-0002"})
    before = rows()

    body = {k: v for k, v in {**GOOD_ENROLLMENT, **change}.items() if v is not None}
    response = api.post("/participants/P-0002/enrollments", json=body)

    assert response.status_code == 422, response.json
    assert response.json["field"] == field
    assert rows() == before


def test_enrolling_twice_is_409(api, enrolled):
    response = api.post("/participants/P-0001/enrollments", json=GOOD_ENROLLMENT)

    assert response.status_code == 409
    assert response.json["error"] == "already_enrolled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"on": "2026-01-07", "results": NEG}, "kind"),
        ({"kind": "missed", "on": "2026-01-07"}, "kind"),
        ({"kind": ["specimen"], "on": "2026-01-07"}, "kind"),
        ({"kind": "specimen", "results": NEG}, "on"),
        ({"kind": "specimen", "on": 20260107, "results": NEG}, "on"),
        ({"kind": "specimen", "on": "2026-03-01", "results": NEG}, "on"),
        ({"kind": "specimen", "on": "2025-12-01", "results": NEG}, "on"),
        ({"kind": "specimen", "on": "2026-01-07"}, "results"),
        ({"kind": "specimen", "on": "2026-01-07", "results": ["x"]}, "results"),
        (
            {"kind": "specimen", "on": "2026-01-07", "results": {"cocaine": 1}},
            "results.cocaine",
        ),
        (
            {"kind": "specimen", "on": "2026-01-07", "results": {"cocaine": "meh"}},
            "results.cocaine",
        ),
        (
            {
                "kind": "specimen",
                "on": "2026-01-07",
                "results": {"kryptonite": "negative"},
            },
            "results.kryptonite",
        ),
        ({"kind": "specimen", "on": "2026-01-07", "refused": "yes"}, "refused"),
        (
            {"kind": "specimen", "on": "2026-01-07", "refused": True, "results": NEG},
            "refused",
        ),
        (
            {
                "kind": "specimen",
                "on": "2026-01-07",
                "refused": True,
                "results": {"cocaine": "positive"},
            },
            "refused",
        ),
        ({"kind": "specimen", "on": "2026-01-07", "brac": "0.01"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": 0.0205}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": "0.0205"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": "0.700"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": "-0.010"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": "lots"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": "Infinity"}, "brac"),
        ({"kind": "breath", "on": "2026-01-07", "brac": True}, "brac"),
        ({"kind": "attendance", "on": "2026-01-07"}, "session_type"),
        (
            {"kind": "attendance", "on": "2026-01-07", "session_type": "yoga"},
            "session_type",
        ),
        ({"kind": "excused", "on": "2026-01-07"}, "reason"),
        ({"kind": "excused", "on": "2026-01-07", "reason": "no"}, "reason"),
        ({"kind": "excused", "on": "2026-01-07", "reason": 5}, "reason"),
    ],
)
def test_recording_bad_input_writes_nothing(api, enrolled, body, field):
    before = rows()

    response = api.post("/participants/P-0001/events", json=body)

    assert response.status_code == 422, response.json
    assert response.json["field"] == field
    assert rows() == before


def test_a_refused_specimen_with_results_is_refused_naming_the_field(api, enrolled):
    before = rows()
    body = {"kind": "specimen", "on": "2026-01-07", "refused": True, "results": NEG}

    response = api.post("/participants/P-0001/events", json=body)

    assert response.status_code == 422
    assert response.json == {
        "error": "invalid_input",
        "field": "refused",
        "message": "A refused specimen has no results: "
        "send refused or the results, not both.",
    }
    assert rows() == before


def test_a_refused_specimen_without_results_is_recorded(api, enrolled):
    for body in (
        {"kind": "specimen", "on": "2026-01-07", "refused": True},
        {"kind": "specimen", "on": "2026-01-09", "refused": True, "results": {}},
    ):
        response = api.post("/participants/P-0001/events", json=body)

        assert response.status_code == 201, response.json
        assert response.json["event"]["refused"] is True


def test_a_brac_as_a_json_number_is_read_without_a_float(api, enrolled):
    response = api.post(
        "/participants/P-0001/events",
        data=b'{"kind": "breath", "on": "2026-01-07", "brac": 0.019}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201
    assert response.json["event"]["brac_milli"] == 19
    assert response.json["event"]["results"] == {"alcohol": "negative"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "reason"),
        ({"reason": "no"}, 422, "reason"),
        ({"reason": ["wrong cup"]}, 422, "reason"),
        ({"reason": "wrong cup", "extra": 1}, 422, "extra"),
    ],
)
def test_voiding_with_bad_input_writes_nothing(api, enrolled, body, status, field):
    before = rows()

    response = api.post(f"/events/{enrolled.id}/void", json=body)

    assert response.status_code == status
    assert response.json["field"] == field
    assert rows() == before


def test_voiding_twice_is_409_and_a_huge_id_is_404(api, enrolled):
    api.post(f"/events/{enrolled.id}/void", json={"reason": "wrong cup"})

    again = api.post(f"/events/{enrolled.id}/void", json={"reason": "wrong cup"})
    huge = api.post(f"/events/{2**70}/void", json={"reason": "wrong cup"})

    assert again.status_code == 409
    assert again.json["error"] == "already_voided"
    assert huge.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "points"),
        ({"points": 0}, "points"),
        ({"points": -5}, "points"),
        ({"points": 1.5}, "points"),
        ({"points": "5"}, "points"),
        ({"points": True}, "points"),
        ({"points": 2**40}, "points"),
        ({"points": 1, "reward_id": "x"}, "reward_id"),
        ({"points": 1, "reward_id": 999}, "reward"),
        ({"points": 1, "memo": 5}, "memo"),
    ],
)
def test_redeeming_bad_input_writes_nothing(api, enrolled, body, field):
    before = rows()

    response = api.post("/participants/P-0001/redemptions", json=body)

    assert response.status_code == 422
    assert response.json["field"] == field
    assert rows() == before


def test_a_draw_takes_no_body_fields(api, enrolled):
    response = api.post("/participants/P-0001/draws", json={"count": 3})

    assert response.status_code == 422
    assert response.json["field"] == "count"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/nowhere", 404),
        ("get", "/participants", 405),
        ("post", "/participants/P-0001/balance", 405),
        ("get", "/events/-1/void", 404),
    ],
)
def test_unknown_routes_and_methods_answer_in_json(api, enrolled, method, path, status):
    response = getattr(api, method)(path)

    assert response.status_code == status
    assert set(response.json) == {"error", "field", "message"}
