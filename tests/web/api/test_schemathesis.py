"""schemathesis against the live API over loopback: generated requests for every
operation in /api/v1/openapi.json, with a real token, must never get a 5xx, and every
response must be one the document describes (status, content type, body schema)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from cm_service.extensions import db
from cm_service.services.cm import checkins
from tests.support.api import make_token
from tests.support.factories import NOW, START, make_enrolled

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation and database (the test runs on SQLite and PostgreSQL): about 30 s
# each on two cores. Derandomized, so a failure reproduces on every run.
EXAMPLES_PER_OPERATION = 10


@pytest.fixture
def live_api(app, staff, clinic) -> Iterator[tuple[str, str]]:
    """The app on 127.0.0.1 in a server thread, with P-0001 enrolled and tested,
    and a staff token for the clinic."""
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(staff, person.id, START, {"cocaine": "negative"}, now=NOW)
    secret = make_token(clinic)
    # The server thread has its own session; ours must not hold SQLite's write lock.
    db.session.close()
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", secret
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_generated_requests_get_documented_responses_and_no_5xx(live_api):
    base, secret = live_api
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {
        "GET /participants/{code}/observations",
        "POST /participants/{code}/observations",
        "POST /results:import",
        "POST /participants/{code}/events",
    } <= labels, labels

    with requests.Session() as session:
        for operation in operations:
            _exercise(operation, session, headers)


def _exercise(operation, session: requests.Session, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        # Nested FHIR bodies are slow to generate, not slow to serve.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case) -> None:
        case.call_and_validate(session=session, headers=headers, checks=CHECKS)

    call()
