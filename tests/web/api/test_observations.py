"""FHIR R4 Observations: export, import, round trips, bad input and access."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Disclosure, Event, LedgerEntry
from cm_service.services.cm import checkins, ledger
from tests.support.api import Api
from tests.support.consents import EHR_QUERY, grant
from tests.support.factories import NOW, START, make_enrolled, make_staff

LOINC = "http://loinc.org"
TUESDAY, WEDNESDAY, THURSDAY = "2026-01-06", "2026-01-07", "2026-01-08"


def rows() -> dict[str, int]:
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m))
        for m in (Event, LedgerEntry, AuditLog)
    }


def observation(
    code: str = "3397-7",
    value: str = "negative",
    on: str = TUESDAY,
    ident: str = "lab-1",
    **extra,
) -> dict:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:example:lab", "value": ident}],
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": on,
        "valueCodeableConcept": {"text": value},
        **extra,
    }


def bundle(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def post_bundle(api: Api, body, code: str = "P-0001"):
    return api.post(f"/participants/{code}/observations", json=body)


@pytest.fixture
def history(staff, clinic):
    """P-0001 on higgins-1994 with a cocaine-negative panel, a breath test and a
    voided specimen."""
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(
        staff,
        person.id,
        START,
        {"cocaine": "negative", "opiates": "positive", "morphine": "negative"},
        now=NOW,
    )
    checkins.record_breath(staff, person.id, START, 20, now=NOW)
    wrong = checkins.record_specimen(
        staff, person.id, START.replace(day=7), {"cocaine": "positive"}, now=NOW
    )
    checkins.void_event(staff, wrong.event.id, "wrong cup", now=NOW)
    grant(staff, person)  # County EHR, treatment: the exports below name it
    return person


def test_the_export_is_a_fhir_bundle_of_verified_unvoided_results(api, history):
    response = api.get("/participants/P-0001/observations?" + EHR_QUERY)

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    body = json.loads(response.data)
    assert (body["resourceType"], body["type"]) == ("Bundle", "collection")
    found = [
        (
            o["code"]["coding"][0]["code"],
            o["valueCodeableConcept"]["text"],
            o["effectiveDateTime"],
            o["status"],
        )
        for o in (e["resource"] for e in body["entry"])
    ]
    assert found == [
        ("3397-7", "negative", "2026-01-05", "final"),
        ("morphine", "negative", "2026-01-05", "final"),
        ("3879-4", "positive", "2026-01-05", "final"),
        ("104133-4", "positive", "2026-01-05", "final"),
    ]


def test_an_exported_observation_is_coded_and_names_no_one(api, history):
    body = json.loads(api.get("/participants/P-0001/observations?" + EHR_QUERY).data)
    cocaine, breath = body["entry"][0]["resource"], body["entry"][3]["resource"]

    assert cocaine["code"]["coding"][0]["system"] == LOINC
    assert cocaine["valueCodeableConcept"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "260385009",
        "display": "Negative",
    }
    assert cocaine["subject"]["identifier"]["value"] == "P-0001"
    assert "display" not in cocaine["subject"]
    assert breath["component"][0]["valueQuantity"]["value"] == 0.02
    assert breath["component"][0]["valueQuantity"]["code"] == "g/(210.L)"
    ids = [e["resource"]["identifier"][0]["value"] for e in body["entry"]]
    assert len(set(ids)) == 4


def test_an_export_is_audited_as_a_disclosure(api, history):
    api.get("/participants/P-0001/observations?" + EHR_QUERY)

    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export_observations")
    ).one()
    assert (row.participant_id, row.actor_type) == (history.id, "api")
    disclosure = db.session.scalars(select(Disclosure)).one()
    assert row.detail == {
        "format": "fhir-r4",
        "observations": 4,
        "consent": disclosure.consent_id,
        "recipient": "County EHR",
        "recipient_class": None,
        "purpose": "treatment",
        "shared": ["identity", "test_results"],
        "route": "GET /api/v1/participants/<code>/observations",
    }
    assert disclosure.audit_log_id == row.id


def test_an_auditor_token_may_export(auditor_api, history):
    assert (
        auditor_api.get("/participants/P-0001/observations?" + EHR_QUERY).status_code
        == 200
    )


def test_an_import_records_each_observation_and_awards_at_once(api, staff, clinic):
    make_enrolled(staff, clinic)

    response = post_bundle(
        api,
        bundle(
            observation(on=WEDNESDAY),
            observation("3879-4", "positive", on=WEDNESDAY, ident="lab-2"),
        ),
    )

    assert response.status_code == 201
    assert [r["event"]["results"] for r in response.json["recorded"]] == [
        {"cocaine": "negative"},
        {"opiates": "positive"},
    ]
    assert [r["source"] for r in response.json["recorded"]] == ["entry[0]", "entry[1]"]
    # higgins-1994 targets cocaine only: the day is a negative, $2.50.
    assert [(a["award_key"], a["amount"]) for a in response.json["awards"]] == [
        ("specimen:2026-01-07", 10)
    ]
    refs = db.session.scalars(select(Event.source_ref).order_by(Event.id)).all()
    assert refs == ["fhir:urn:example:lab|lab-1", "fhir:urn:example:lab|lab-2"]


def test_reposting_the_same_observations_is_a_no_op_that_says_so(api, staff, clinic):
    make_enrolled(staff, clinic)
    body = bundle(observation(), observation(ident="lab-2", on=THURSDAY))
    post_bundle(api, body)
    before = rows()

    again = post_bundle(api, body)
    one = post_bundle(api, bundle(observation(ident="lab-2", on=THURSDAY)))

    assert again.status_code == 200
    assert again.json["recorded"] == []
    assert [r["source"] for r in again.json["already_recorded"]] == [
        "entry[0]",
        "entry[1]",
    ]
    assert "2 already recorded" in again.json["message"]
    assert one.status_code == 200
    assert rows() == before


def test_an_export_imports_into_a_participant_elsewhere_with_the_same_awards(
    api, other_api, history, other_clinic
):
    elsewhere = make_staff(other_clinic, "elsewhere")
    copy_of, _ = make_enrolled(elsewhere, other_clinic, code="P-0777")
    grant(elsewhere, copy_of)
    exported = json.loads(
        api.get("/participants/P-0001/observations?" + EHR_QUERY).data
    )

    response = post_bundle(other_api, exported, code="P-0777")
    again = post_bundle(other_api, exported, code="P-0777")

    assert response.status_code == 201
    assert len(response.json["recorded"]) == 4
    assert ledger.balance_of(copy_of.id) == ledger.balance_of(history.id)
    assert (again.status_code, len(again.json["already_recorded"])) == (200, 4)
    reexported = json.loads(
        other_api.get("/participants/P-0777/observations?" + EHR_QUERY).data
    )
    strip = [{**e["resource"], "subject": None} for e in exported["entry"]]
    assert [{**e["resource"], "subject": None} for e in reexported["entry"]] == strip


def test_reposting_an_export_to_the_same_participant_records_nothing(api, history):
    exported = json.loads(
        api.get("/participants/P-0001/observations?" + EHR_QUERY).data
    )
    before = rows()

    response = post_bundle(api, exported)

    assert response.status_code == 200
    assert len(response.json["already_recorded"]) == 4
    assert rows() == before


def test_an_export_posted_to_another_participant_of_the_clinic_is_refused(
    api, history, staff, clinic
):
    make_enrolled(staff, clinic, code="P-0002")
    exported = json.loads(
        api.get("/participants/P-0001/observations?" + EHR_QUERY).data
    )
    before = rows()

    response = post_bundle(api, exported, code="P-0002")

    assert response.status_code == 422
    assert response.json["field"] == "entry[0].resource.identifier"
    assert "another participant" in response.json["message"]
    assert rows() == before


def test_a_different_result_under_a_recorded_identifier_is_refused(api, staff, clinic):
    make_enrolled(staff, clinic)
    post_bundle(api, bundle(observation()))
    before = rows()

    response = post_bundle(api, bundle(observation(value="positive")))

    assert response.status_code == 422
    assert response.json["field"] == "entry[0].resource.identifier"
    assert "void" in response.json["message"]
    assert rows() == before


def test_a_breath_observation_records_a_breath_test(api, staff, clinic):
    make_enrolled(staff, clinic)
    breath = observation(
        "104133-4",
        "negative",
        component=[{"valueQuantity": {"value": 0.015, "unit": "g/210 L"}}],
    )

    response = post_bundle(api, bundle(breath))

    assert response.status_code == 201
    event = response.json["recorded"][0]["event"]
    assert (event["kind"], event["brac_milli"]) == ("breath", 15)
    assert event["results"] == {"alcohol": "negative"}


def test_a_time_of_collection_counts_on_the_clinics_day(api, staff, clinic):
    make_enrolled(staff, clinic)

    # 03:00 UTC on the 7th is still the 6th in Chicago.
    response = post_bundle(api, bundle(observation(on="2026-01-07T03:00:00Z")))

    assert response.json["recorded"][0]["event"]["on"] == "2026-01-06"


def test_one_unrecordable_observation_records_nothing(api, staff, clinic):
    make_enrolled(staff, clinic)
    before = rows()

    response = post_bundle(
        api, bundle(observation(), observation(on="2025-12-01", ident="lab-2"))
    )

    assert response.status_code == 422
    assert response.json["field"] == "entry[1].resource.effectiveDateTime"
    assert "not enrolled" in response.json["message"]
    assert rows() == before


def _set(path: str, value):
    def change(body: dict) -> dict:
        body = copy.deepcopy(body)
        target = body
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is DELETE:
            del target[last]
        else:
            target[last] = value
        return body

    return change


DELETE = object()
R = "entry.0.resource"
BAD = [
    (_set("resourceType", "Observation"), 422, "resourceType"),
    (_set("entry", []), 422, "entry"),
    (_set("entry", "x"), 422, "entry"),
    (_set("entry.0", 3), 422, "entry[0].resource"),
    (_set(f"{R}.resourceType", "Patient"), 422, "entry[0].resource.resourceType"),
    (_set(f"{R}.status", "preliminary"), 422, "entry[0].resource.status"),
    (_set(f"{R}.status", 1), 422, "entry[0].resource.status"),
    (
        _set(f"{R}.code", {"coding": [{"system": LOINC, "code": "1234-5"}]}),
        422,
        "entry[0].resource.code",
    ),
    (_set(f"{R}.code", "cocaine"), 422, "entry[0].resource.code"),
    (_set(f"{R}.code", {"coding": "x"}), 422, "entry[0].resource.code.coding"),
    (
        _set(f"{R}.valueCodeableConcept", {"text": "maybe"}),
        422,
        "entry[0].resource.valueCodeableConcept",
    ),
    (
        _set(
            f"{R}.valueCodeableConcept",
            {
                "text": "negative",
                "coding": [{"system": "http://snomed.info/sct", "code": "10828004"}],
            },
        ),
        422,
        "entry[0].resource.valueCodeableConcept",
    ),
    (
        _set(f"{R}.valueCodeableConcept", DELETE),
        422,
        "entry[0].resource.valueCodeableConcept",
    ),
    (
        _set(f"{R}.effectiveDateTime", "2026-01"),
        422,
        "entry[0].resource.effectiveDateTime",
    ),
    (
        _set(f"{R}.effectiveDateTime", "2026-02-30"),
        422,
        "entry[0].resource.effectiveDateTime",
    ),
    (
        _set(f"{R}.effectiveDateTime", "2026-01-06T10:00:00"),
        422,
        "entry[0].resource.effectiveDateTime",
    ),
    (
        _set(f"{R}.effectiveDateTime", 20260106),
        422,
        "entry[0].resource.effectiveDateTime",
    ),
    (
        _set(f"{R}.effectiveDateTime", "2026-03-01"),
        422,
        "entry[0].resource.effectiveDateTime",
    ),
    (_set(f"{R}.identifier", DELETE), 422, "entry[0].resource.identifier"),
    (_set(f"{R}.identifier", [{"value": "x"}]), 422, "entry[0].resource.identifier"),
    (
        _set(f"{R}.identifier", [{"system": "urn:x", "value": "x" * 200}]),
        422,
        "entry[0].resource.identifier",
    ),
    (
        _set(
            f"{R}.identifier",
            [{"system": "urn:cm-service:observation", "value": "1-99999-cocaine"}],
        ),
        422,
        "entry[0].resource.identifier",
    ),
]


@pytest.mark.parametrize(("change", "status", "field"), BAD)
def test_bad_observations_name_the_field_and_record_nothing(
    api, staff, clinic, change, status, field
):
    make_enrolled(staff, clinic)
    before = rows()

    response = post_bundle(api, change(bundle(observation())))

    assert response.status_code == status
    assert response.json["field"] == field
    assert response.json["error"] in ("invalid_input", "not_found")
    assert {"error", "field", "message"} <= set(response.json)
    assert rows() == before


@pytest.mark.parametrize(
    ("component", "field"),
    [
        (None, "entry[0].resource.component"),
        ([{"valueQuantity": {"value": "0.02"}}], "entry[0].resource.component"),
        ([{"valueQuantity": {"value": 0.0205}}], "entry[0].resource.component"),
        ([{"valueQuantity": {"value": 0.9}}], "entry[0].resource.component"),
        (
            [{"valueQuantity": {"value": 0.05}}],
            "entry[0].resource.valueCodeableConcept",
        ),
    ],
)
def test_a_bad_breath_reading_is_refused(api, staff, clinic, component, field):
    make_enrolled(staff, clinic)
    breath = observation("104133-4", "negative")
    if component is not None:
        breath["component"] = component

    response = post_bundle(api, bundle(breath))

    assert response.status_code == 422
    assert response.json["field"].startswith(field)


@pytest.mark.parametrize("data", [b"{", b"[]", b'"Bundle"'])
def test_a_body_that_is_not_a_json_object_is_400(api, staff, clinic, data):
    make_enrolled(staff, clinic)

    response = api.post(
        "/participants/P-0001/observations",
        data=data,
        headers={"Content-Type": "application/fhir+json"},
    )

    assert response.status_code == 400
    assert response.json["error"] == "malformed_json"


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_clinics_participant_is_404(api, other_clinic, method):
    elsewhere = make_staff(other_clinic, "elsewhere")
    make_enrolled(elsewhere, other_clinic, code="P-9999")
    before = rows()

    if method == "get":
        response = api.get("/participants/P-9999/observations")
    else:
        response = post_bundle(api, bundle(observation()), code="P-9999")

    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert rows() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_code_is_404(api, method):
    if method == "get":
        response = api.get("/participants/P-NOPE/observations")
    else:
        response = post_bundle(api, bundle(observation()), code="P-NOPE")

    assert response.status_code == 404


def test_an_auditor_token_may_not_import(auditor_api, staff, clinic):
    make_enrolled(staff, clinic)

    response = post_bundle(auditor_api, bundle(observation()))

    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0
