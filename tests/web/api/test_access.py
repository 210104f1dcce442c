from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import ApiToken, Enrollment, Event, LedgerEntry, Participant
from cm_service.services.cm import checkins, participants
from tests.support.api import Api, make_token
from tests.support.consents import EHR_QUERY, grant
from tests.support.factories import NOW, START, make_enrolled, make_staff

NEG = {"cocaine": "negative"}
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

# Every route that names a participant or an event, with a body it would accept.
ROUTES = [
    ("get", "/participants/{code}", None),
    (
        "post",
        "/participants/{code}/enrollments",
        {"protocol": "higgins-1994", "start_on": "2026-01-05"},
    ),
    (
        "post",
        "/participants/{code}/events",
        {"kind": "specimen", "on": "2026-01-05", "results": NEG},
    ),
    ("post", "/events/{event}/void", {"reason": "wrong cup"}),
    ("get", "/participants/{code}/balance", None),
    ("get", "/participants/{code}/ledger", None),
    ("post", "/participants/{code}/redemptions", {"points": 1}),
    ("get", "/participants/{code}/rewards", None),
    ("post", "/participants/{code}/draws", None),
    ("get", "/participants/{code}/observations", None),
    ("post", "/participants/{code}/observations", OBSERVATIONS),
    ("get", "/participants/{code}/appointments", None),
    (
        "post",
        "/participants/{code}/appointments",
        {"session_type": "group", "on": "2026-02-03", "starts_at": "10:00"},
    ),
]


def _call(api: Api, method: str, path: str, body):
    if method == "get":
        return api.get(path)
    return api.post(path, json=body)


def _rows() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Participant, Enrollment, Event, LedgerEntry)
    }


@pytest.fixture
def outsider(other_clinic):
    """A participant of the other clinic with one recorded negative."""
    actor = make_staff(other_clinic, "elsewhere")
    person, _ = make_enrolled(actor, other_clinic, code="P-9999")
    result = checkins.record_specimen(actor, person.id, START, NEG, now=NOW)
    return person, result.event


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_another_clinics_participant_or_event_is_404(api, outsider, method, path, body):
    person, event = outsider
    before = _rows()

    response = _call(api, method, path.format(code=person.code, event=event.id), body)

    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert _rows() == before


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_an_unknown_code_or_event_is_404(api, method, path, body):
    response = _call(api, method, path.format(code="P-NOPE", event=999999), body)

    assert response.status_code == 404
    assert set(response.json) == {"error", "field", "message"}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_revoked_token_is_401(app, api, runner, staff, clinic, method, path, body):
    person, _ = make_enrolled(staff, clinic)
    token_id = db.session.scalar(select(ApiToken.id))
    result = runner.invoke(args=["cm", "token", "revoke", str(token_id)])
    assert result.exit_code == 0, result.output

    response = _call(api, method, path.format(code=person.code, event=1), body)

    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nonsense", "Basic dGVjaDpwdw==", "bearer  ", "Token x"],
)
def test_a_missing_or_unknown_token_is_401(app, staff, clinic, header):
    make_enrolled(staff, clinic)
    headers = {"Authorization": header} if header else {}

    response = app.test_client().get(
        "/api/v1/participants/P-0001/balance", headers=headers
    )

    assert response.status_code == 401
    assert response.json["field"] is None


WRITES = [
    ("/participants", {"code": "P-0002"}),
    (
        "/participants/P-0001/enrollments",
        {"protocol": "higgins-1994", "start_on": "2026-01-05"},
    ),
    (
        "/participants/P-0001/events",
        {"kind": "specimen", "on": "2026-01-05", "results": NEG},
    ),
    ("/events/{event}/void", {"reason": "wrong cup"}),
    ("/participants/P-0001/redemptions", {"points": 1}),
    ("/participants/P-0001/draws", None),
    ("/participants/P-0001/observations", OBSERVATIONS),
]


@pytest.mark.parametrize("idempotency_key", [None, "retry-1"])
@pytest.mark.parametrize(("path", "body"), WRITES)
def test_an_auditor_token_reads_but_cannot_write(
    auditor_api, staff, clinic, path, body, idempotency_key
):
    person, _ = make_enrolled(staff, clinic)
    event = checkins.record_specimen(staff, person.id, START, NEG, now=NOW).event
    before = _rows()
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None

    response = auditor_api.post(path.format(event=event.id), json=body, headers=headers)

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert _rows() == before
    assert auditor_api.get("/participants/P-0001/balance").status_code == 200


def test_the_openapi_document_needs_no_token(app):
    assert app.test_client().get("/api/v1/openapi.json").status_code == 200


def test_a_token_is_created_on_the_cli_and_works(app, runner, clinic, staff):
    make_enrolled(staff, clinic)

    result = runner.invoke(
        args=[
            "cm",
            "token",
            "create",
            "--clinic",
            str(clinic.id),
            "--role",
            "staff",
            "--name",
            "lab feed",
        ]
    )

    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    response = Api(app.test_client(), secret).get("/participants/P-0001/balance")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clinic", "999", "--role", "staff"], "no clinic 999"),
        (["--clinic", "{clinic}", "--role", "admin"], "Invalid value for '--role'"),
        (
            ["--clinic", "{clinic}", "--role", "staff", "--name", "x" * 121],
            "at most 120",
        ),
    ],
)
def test_token_create_refuses_bad_options(runner, clinic, args, message):
    args = [a.format(clinic=clinic.id) for a in args]

    result = runner.invoke(args=["cm", "token", "create", *args])

    assert result.exit_code != 0
    assert message in result.output


def test_revoking_an_unknown_token_fails(runner, app):
    result = runner.invoke(args=["cm", "token", "revoke", "4242"])

    assert result.exit_code != 0
    assert "No such token" in result.output


# Every API route, what each token role may do with it: "read" (2xx), "write" (a
# staff token gets past the role check: not 401/403, never 5xx) or "refused" (403,
# the API's error body). The table must name every route the app serves, so a new
# route, or an export, cannot be open to the wrong role unnoticed (issue 15).
EVERY_ROUTE = {
    ("GET", "/openapi.json"): ("read", "read", None),
    ("POST", "/participants"): ("write", "refused", {"code": "P-0002"}),
    ("GET", "/participants/<code>"): ("read", "read", None),
    ("POST", "/participants/<code>/enrollments"): (
        "write",
        "refused",
        {"protocol": "higgins-1994", "start_on": "2026-01-05"},
    ),
    ("POST", "/participants/<code>/events"): (
        "write",
        "refused",
        {"kind": "specimen", "on": "2026-01-07", "results": NEG},
    ),
    ("POST", "/events/<int:event_id>/void"): (
        "write",
        "refused",
        {"reason": "wrong cup"},
    ),
    ("GET", "/participants/<code>/balance"): ("read", "read", None),
    ("GET", "/participants/<code>/ledger"): ("read", "read", None),
    ("POST", "/participants/<code>/redemptions"): ("write", "refused", {"points": 1}),
    ("GET", "/participants/<code>/rewards"): ("read", "read", None),
    ("POST", "/participants/<code>/draws"): ("write", "refused", None),
    # Participant-level outcomes: admins and auditors only, as on the web.
    ("GET", "/reports/outcomes"): ("refused", "read", None),
    ("GET", "/reports/tests"): ("refused", "read", None),
    ("GET", "/reports/dictionary"): ("refused", "read", None),
    ("GET", "/reports/fidelity"): ("refused", "read", None),
    ("GET", "/participants/<code>/observations"): ("read", "read", None),
    ("POST", "/participants/<code>/observations"): ("write", "refused", OBSERVATIONS),
    ("POST", "/results:import"): ("write", "refused", None),
    ("GET", "/participants/<code>/appointments"): ("read", "read", None),
    ("POST", "/participants/<code>/appointments"): (
        "write",
        "refused",
        {"session_type": "group", "on": "2026-02-03", "starts_at": "10:00"},
    ),
    ("POST", "/appointments/<int:appointment_id>/cancel"): (
        "write",
        "refused",
        {"reason": "group cancelled"},
    ),
}
# Identifiable exports name their recipient (the participant consented to it:
# tests/web/test_disclosures.py walks them with and without a consent).
QUERIES = {
    path: [
        f"?from=2026-01-05&to=2026-01-11&{EHR_QUERY}",
        f"?from=2026-01-05&to=2026-01-11&format=csv&{EHR_QUERY}",
        "?from=2026-01-05&to=2026-01-11&deidentified=1",
    ]
    for path in ("/reports/outcomes", "/reports/tests", "/reports/fidelity")
} | {"/participants/<code>/observations": [f"?{EHR_QUERY}"]}


def test_the_route_table_names_every_api_route(app):
    served = {
        (method, rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert served == set(EVERY_ROUTE)


@pytest.mark.parametrize("role", ["staff", "auditor"])
@pytest.mark.parametrize(("method", "rule"), sorted(EVERY_ROUTE))
def test_each_token_role_gets_what_its_route_allows(
    app, staff, clinic, role, method, rule
):
    person, _ = make_enrolled(staff, clinic)
    event = checkins.record_specimen(staff, person.id, START, NEG, now=NOW).event
    grant(staff, person, purposes=("treatment",))
    if "enrollments" in rule:  # a participant with no enrollment yet
        person = participants.register_participant(staff, clinic.id, "P-0003", now=NOW)
    api = Api(app.test_client(), make_token(clinic, role))
    staff_may, auditor_may, body = EVERY_ROUTE[(method, rule)]
    expected = staff_may if role == "staff" else auditor_may
    path = rule.replace("<code>", person.code).replace("<int:event_id>", str(event.id))
    path = path.replace("<int:appointment_id>", "1")
    before = _rows()

    for query in QUERIES.get(rule, [""]):
        response = _call(api, method.lower(), path + query, body)

        if expected == "read":
            assert response.status_code // 100 == 2, response.get_data(as_text=True)
        elif expected == "write":
            assert response.status_code not in (401, 403), response.json
            assert response.status_code < 500
        else:
            assert response.status_code == 403
            assert response.mimetype == "application/json"
            assert set(response.json) == {"error", "field", "message"}
            assert response.json["error"] == "forbidden"
            assert person.code not in response.get_data(as_text=True)
            assert _rows() == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/participants/NO-SUCH/events", {"kind": "specimen"}),  # would be 404
        ("/participants/P-0001/events", {"kind": "nonsense"}),  # would be 422
        ("/events/99999999/void", {"reason": "x"}),
        ("/appointments/99999999/cancel", {}),
    ],
)
def test_an_auditor_token_is_refused_before_lookups_and_parsing(
    app, staff, clinic, path, body
):
    make_enrolled(staff, clinic)
    api = Api(app.test_client(), make_token(clinic, "auditor"))

    response = api.post(path, json=body)

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
