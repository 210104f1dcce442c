from __future__ import annotations

from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Draw, Event, EventVoid, Participant
from tests.support.factories import START, make_enrolled

NEG = {"cocaine": "negative"}


def test_registering_a_participant_returns_it(api):
    response = api.post(
        "/participants", json={"code": "p-0042", "display_name": "Sam", "pin": "284917"}
    )

    assert response.status_code == 201
    assert response.json == {
        "code": "P-0042",
        "display_name": "Sam",
        "status": "active",
        "has_pin": True,
        "enrollment": None,
    }


def test_a_participant_shows_the_enrollment_and_the_view_is_audited(api, staff, clinic):
    make_enrolled(staff, clinic)

    response = api.get("/participants/P-0001")

    assert response.status_code == 200
    assert response.json["enrollment"]["protocol"]["key"] == "higgins-1994"
    assert response.json["enrollment"]["start_on"] == "2026-01-05"
    view = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_participant")
    ).one()
    assert (view.actor_type, view.actor_role) == ("api", "staff")


def test_enrolling_by_key_pins_the_latest_version(api):
    api.post("/participants", json={"code": "P-0001"})

    response = api.post(
        "/participants/P-0001/enrollments",
        json={
            "protocol": "higgins-1994",
            "start_on": "2026-01-05",
            "testing_days": {"0": [1, 3]},
            "targets": ["cocaine", "opiates"],
            "exemptions": [
                {
                    "analyte": "opiates",
                    "medication": "codeine",
                    "starts_on": "2026-01-05",
                }
            ],
        },
    )

    assert response.status_code == 201
    body = response.json
    assert (body["protocol"]["key"], body["protocol"]["version"]) == (
        "higgins-1994",
        1,
    )
    assert body["testing_days"] == {"0": [1, 3]}
    assert body["targets"] == ["cocaine", "opiates"]
    assert body["exemptions"][0]["medication"] == "codeine"


def test_a_negative_specimen_returns_the_award_it_triggered(api, staff, clinic):
    make_enrolled(staff, clinic)

    response = api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": "2026-01-05", "results": NEG},
    )

    assert response.status_code == 201
    body = response.json
    assert body["event"]["kind"] == "specimen"
    assert [(a["award_key"], a["amount"], a["cents"]) for a in body["awards"]] == [
        ("specimen:2026-01-05", 10, 250)
    ]
    assert body["balance"]["points"] == 10
    assert body["balance"]["next_negative"] == {"points": 15, "cents": 375, "draws": 0}


def test_a_breath_reading_is_read_exactly_from_its_string(api, staff, clinic):
    make_enrolled(staff, clinic)

    response = api.post(
        "/participants/P-0001/events",
        json={"kind": "breath", "on": "2026-01-05", "brac": "0.020"},
    )

    assert response.status_code == 201
    assert response.json["event"]["brac_milli"] == 20
    assert response.json["event"]["results"] == {"alcohol": "positive"}


def test_attendance_and_an_excused_day_are_recorded(api, staff, clinic):
    make_enrolled(staff, clinic)

    attended = api.post(
        "/participants/P-0001/events",
        json={"kind": "attendance", "on": "2026-01-06", "session_type": "group"},
    )
    excused = api.post(
        "/participants/P-0001/events",
        json={"kind": "excused", "on": "2026-01-07", "reason": "in hospital"},
    )

    assert (attended.status_code, excused.status_code) == (201, 201)
    assert excused.json["event"]["reason"] == "in hospital"
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2


def test_voiding_an_event_keeps_it_with_the_void_beside_it(api, staff, clinic):
    make_enrolled(staff, clinic)
    event_id = api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": "2026-01-05", "results": NEG},
    ).json["event"]["id"]

    response = api.post(f"/events/{event_id}/void", json={"reason": "wrong cup"})

    assert response.status_code == 200
    void = db.session.scalars(select(EventVoid)).one()
    assert (void.event_id, void.reason) == (event_id, "wrong cup")


def test_the_balance_shows_the_run_and_the_next_negative(api, staff, clinic):
    make_enrolled(staff, clinic)
    for on in ("2026-01-05", "2026-01-07"):
        api.post(
            "/participants/P-0001/events",
            json={"kind": "specimen", "on": on, "results": NEG},
        )

    response = api.get("/participants/P-0001/balance")

    assert response.status_code == 200
    body = response.json
    assert (body["points"], body["cents"], body["draws"]) == (25, 625, 0)
    # NOW is Monday 2026-02-02: the missing days since break the run.
    assert body["next_negative"]["on"] == "2026-02-02"
    assert {"points", "cents", "draws"} <= body["next_negative"].keys()


def test_the_ledger_lists_every_entry(api, staff, clinic):
    make_enrolled(staff, clinic)
    api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": "2026-01-05", "results": NEG},
    )

    response = api.get("/participants/P-0001/ledger")

    assert response.status_code == 200
    assert [(e["kind"], e["amount"]) for e in response.json["entries"]] == [
        ("award", 10)
    ]
    assert response.json["balance"]["points"] == 10


def test_redeeming_debits_points_and_an_overdraft_is_409(api, staff, clinic):
    make_enrolled(staff, clinic)
    api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": "2026-01-05", "results": NEG},
    )

    spent = api.post("/participants/P-0001/redemptions", json={"points": 4})
    overdraft = api.post("/participants/P-0001/redemptions", json={"points": 7})

    assert spent.status_code == 201
    assert spent.json["redemption"]["amount"] == -4
    assert spent.json["balance"]["points"] == 6
    assert overdraft.status_code == 409
    assert overdraft.json["error"] == "insufficient_balance"
    assert overdraft.json["field"] == "points"


def test_a_draw_returns_its_tier_once(api, staff, clinic):
    make_enrolled(staff, clinic, key="petry-ctn-2005")
    results = dict.fromkeys(
        ["cocaine", "amphetamine", "methamphetamine", "alcohol"], "negative"
    )
    api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": str(START), "results": results},
    )

    response = api.post("/participants/P-0001/draws")

    assert response.status_code == 201
    assert response.json["draw"]["tier"]
    assert isinstance(response.json["draw"]["value_cents"], int)
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 1


def test_no_waiting_draw_is_a_409(api, staff, clinic):
    make_enrolled(staff, clinic, key="petry-ctn-2005")

    response = api.post("/participants/P-0001/draws")

    assert response.status_code == 409
    assert response.json["error"] == "no_draws"


def test_the_openapi_document_describes_every_route(app, api):
    response = api.client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    routes = {
        (rule.rule.removeprefix("/api/v1"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {
        (path.replace("{", "<").replace("}", ">"), method)
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert {
        (path.replace("<int:", "<"), method) for path, method in routes
    } == described


def test_participants_register_through_the_api_are_this_clinics(api, clinic):
    api.post("/participants", json={"code": "P-0007"})

    person = db.session.scalars(select(Participant)).one()
    assert person.clinic_id == clinic.id
