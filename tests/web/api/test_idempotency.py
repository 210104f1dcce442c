from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Event, IdempotentResponse, LedgerEntry
from tests.support.factories import make_enrolled

NEG = {"cocaine": "negative"}
SPECIMEN = {"kind": "specimen", "on": "2026-01-05", "results": NEG}
OBSERVATIONS = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "resource": {
                "resourceType": "Observation",
                "identifier": [{"system": "urn:example:lab", "value": "1"}],
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "3397-7"}]},
                "effectiveDateTime": "2026-01-06",
                "valueCodeableConcept": {"text": "negative"},
            }
        }
    ],
}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_retried_event_returns_the_first_response_and_records_once(
    api, staff, clinic
):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "visit-0105"}

    first = api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)
    retry = api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert count(Event) == 1
    assert count(LedgerEntry) == 1


def test_the_same_key_with_another_body_is_409(api, staff, clinic):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "visit-0105"}
    api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)

    other = {**SPECIMEN, "on": "2026-01-07"}
    response = api.post("/participants/P-0001/events", json=other, headers=key)

    assert response.status_code == 409
    assert response.json["error"] == "idempotency_key_reused"
    assert count(Event) == 1


def test_without_a_key_a_repeat_records_again(api, staff, clinic):
    make_enrolled(staff, clinic)

    api.post("/participants/P-0001/events", json=SPECIMEN)
    api.post("/participants/P-0001/events", json=SPECIMEN)

    assert count(Event) == 2


def test_a_refusal_is_replayed_too(api, staff, clinic):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "spend-1"}

    first = api.post(
        "/participants/P-0001/redemptions", json={"points": 5}, headers=key
    )
    retry = api.post(
        "/participants/P-0001/redemptions", json={"points": 5}, headers=key
    )

    assert first.status_code == retry.status_code == 409
    assert retry.json == first.json
    assert count(LedgerEntry) == 0


def test_a_retried_redemption_debits_once(api, staff, clinic):
    make_enrolled(staff, clinic)
    api.post("/participants/P-0001/events", json=SPECIMEN)
    key = {"Idempotency-Key": "x" * 255}

    for _ in range(3):
        response = api.post(
            "/participants/P-0001/redemptions", json={"points": 4}, headers=key
        )

    assert response.status_code == 201
    assert api.get("/participants/P-0001/balance").json["points"] == 6


def test_keys_belong_to_a_clinic(api, other_api, staff, clinic, other_clinic):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "shared"}

    mine = api.post("/participants", json={"code": "P-0100"}, headers=key)
    theirs = other_api.post("/participants", json={"code": "P-0100"}, headers=key)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert count(IdempotentResponse) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_bad_idempotency_key_is_refused(api, staff, clinic, key):
    make_enrolled(staff, clinic)

    response = api.post(
        "/participants/P-0001/events",
        json=SPECIMEN,
        headers={"Idempotency-Key": key.encode().decode("latin-1")},
    )

    assert response.status_code == 422
    assert response.json["field"] == "Idempotency-Key"
    assert count(Event) == 0
    assert count(IdempotentResponse) == 0


def test_a_crash_releases_the_key_so_a_retry_can_record(
    api, staff, clinic, monkeypatch
):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "visit-0105"}

    def crash(*args, **kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr("cm_service.services.cm.checkins.record_specimen", crash)
        with pytest.raises(RuntimeError):
            api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)
    retry = api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)

    assert retry.status_code == 201
    assert count(Event) == 1


def test_a_crash_inside_the_use_case_drops_its_claim_with_its_writes(
    api, staff, clinic, monkeypatch
):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "visit-0105"}

    def crash(*args, **kwargs):
        raise RuntimeError("killed after the event was written")

    with monkeypatch.context() as patch:
        patch.setattr("cm_service.services.cm.checkins.settle_explained", crash)
        with pytest.raises(RuntimeError):
            api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)
    assert (count(Event), count(IdempotentResponse)) == (0, 0)
    retry = api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)

    assert retry.status_code == 201
    assert (count(Event), count(LedgerEntry)) == (1, 1)


def test_a_crash_after_the_commit_is_reported_done_and_not_recorded_again(
    api, staff, clinic, monkeypatch
):
    make_enrolled(staff, clinic)
    key = {"Idempotency-Key": "visit-0105"}

    def crash(*args, **kwargs):
        raise RuntimeError("killed before the response was stored")

    with monkeypatch.context() as patch:
        patch.setattr("cm_service.api.outputs.checkin_of", crash)
        with pytest.raises(RuntimeError):
            api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)
    retry = api.post("/participants/P-0001/events", json=SPECIMEN, headers=key)
    other = api.post(
        "/participants/P-0001/events",
        json={**SPECIMEN, "on": "2026-01-07"},
        headers=key,
    )

    assert retry.status_code == 409
    assert retry.json["error"] == "idempotency_key_completed"
    assert retry.json["field"] == "Idempotency-Key"
    assert other.json["error"] == "idempotency_key_reused"
    assert (count(Event), count(LedgerEntry)) == (1, 1)


def test_a_request_that_writes_nothing_still_keeps_its_response(api, staff, clinic):
    make_enrolled(staff, clinic)
    api.post("/participants/P-0001/observations", json=OBSERVATIONS)
    key = {"Idempotency-Key": "feed-2"}

    again = api.post(
        "/participants/P-0001/observations", json=OBSERVATIONS, headers=key
    )
    db.session.rollback()  # drop whatever the request left uncommitted
    retry = api.post(
        "/participants/P-0001/observations", json=OBSERVATIONS, headers=key
    )

    assert again.status_code == 200  # all recorded already: the use case wrote nothing
    assert retry.json == again.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalars(select(IdempotentResponse.status)).all() == [200]
