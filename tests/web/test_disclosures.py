"""42 CFR Part 2: every route that sends identifiable records out of the program,
walked with and without a matching consent for every role (issue 17).

A disclosing route answers 403 naming what is missing when no active consent
matches (the API: `consent_required` with `field` and `missing`; staff pages: the
message on the page) and writes nothing; with one it answers 200 and writes one
`disclosure` row per participant sent, beside its audit row. The clinic's own
tokens reading a participant's record are not disclosures; a token issued to an
outside recipient always is. Participants cannot reach any of these routes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from cm_service.extensions import db
from cm_service.models import AuditLog, Disclosure
from cm_service.services.access import api_tokens, consents
from cm_service.services.access.actors import SYSTEM
from cm_service.services.cm import checkins, participants
from cm_service.services.errors import InvalidInput
from tests.support.api import Api, make_token
from tests.support.consents import EHR, EHR_QUERY, grant
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.portal import portal_log_in
from tests.support.web import log_in

WINDOW = "from=2026-01-05&to=2026-01-11"
NEG = {"cocaine": "negative"}
CODE = "P-0001"


def disclosures() -> int:
    return db.session.scalar(select(func.count()).select_from(Disclosure))


def recipient_token(clinic, purpose="treatment", name=EHR, class_name=None) -> str:
    _, secret = api_tokens.create_token(
        SYSTEM,
        clinic.id,
        "auditor",
        now=NOW,
        recipient=name,
        purpose=purpose,
        recipient_class=class_name,
    )
    return secret


@pytest.fixture
def person(staff, clinic):
    person, _ = make_enrolled(staff, clinic, code=CODE)
    checkins.record_specimen(staff, person.id, START, NEG, now=NOW)
    return person


@pytest.fixture(autouse=True)
def pinned(clock):
    return clock


# -- the walk ---------------------------------------------------------------------

# (route, who may use it): "export" routes disclose for every role that may use
# them; "record" routes disclose only for an outside recipient's token.
API_ROUTES = [
    ("/participants/P-0001/observations", "export"),
    (f"/reports/outcomes?{WINDOW}", "export"),
    (f"/reports/outcomes?{WINDOW}&format=csv", "export"),
    (f"/reports/tests?{WINDOW}&format=csv", "export"),
    ("/participants/P-0001", "record"),
    ("/participants/P-0001/appointments", "record"),
    ("/participants/P-0001/balance", "record"),
    ("/participants/P-0001/ledger", "record"),
    ("/participants/P-0001/rewards", "record"),
]
STAFF_ROUTES = [
    f"/staff/reports/outcomes.csv?{WINDOW}",
    f"/staff/reports/tests.csv?{WINDOW}",
]
REPORT_READERS = ("admin", "auditor")


def _with_recipient(path: str) -> str:
    return path + ("&" if "?" in path else "?") + EHR_QUERY


def _api_expectation(token_role: str, path: str, kind: str) -> str:
    """What a token gets: "disclose" (403 without consent, 200 + a disclosure
    with one), "read" (200, no disclosure either way) or "forbidden" (its role
    may not: 403 forbidden)."""
    if token_role == "recipient":
        return "disclose"
    if path.startswith("/reports") and token_role == "staff":
        return "forbidden"
    return "disclose" if kind == "export" else "read"


@pytest.mark.parametrize("consented", [False, True], ids=["no-consent", "consent"])
@pytest.mark.parametrize("token_role", ["staff", "auditor", "recipient"])
@pytest.mark.parametrize(("path", "kind"), API_ROUTES, ids=[p for p, _ in API_ROUTES])
def test_every_api_route_that_discloses_needs_a_matching_consent(
    app, staff, clinic, person, token_role, path, kind, consented
):
    if consented:
        grant(staff, person, purposes=("treatment",))
    secret = (
        recipient_token(clinic)
        if token_role == "recipient"
        else make_token(clinic, token_role)
    )
    api = Api(app.test_client(), secret)
    expected = _api_expectation(token_role, path, kind)
    # The clinic's own tokens name the recipient of an export in the query.
    asked = _with_recipient(path) if token_role != "recipient" else path
    before = disclosures()

    response = api.get(asked)

    if expected == "forbidden":
        assert response.status_code == 403
        assert response.json["error"] == "forbidden"
        assert disclosures() == before
    elif expected == "read":
        assert response.status_code == 200
        assert disclosures() == before
    elif consented:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert disclosures() == before + 1
        row = db.session.scalars(select(Disclosure)).one()
        assert (row.participant_id, row.recipient, row.purpose) == (
            person.id,
            EHR,
            "treatment",
        )
        assert row.audit_log_id is not None
        assert (row.by_token_id is not None, row.by_user_id) == (True, None)
    else:
        assert response.status_code == 403
        body = response.json
        assert (body["error"], body["field"]) == ("consent_required", "recipient")
        assert body["missing"] == ["recipient"]
        assert f"{CODE} has no consent to share records with {EHR}" in body["message"]
        assert disclosures() == before


@pytest.mark.parametrize("token_role", ["staff", "auditor"])
def test_the_clinics_own_tokens_must_name_the_recipient_of_an_export(
    app, staff, clinic, person, token_role
):
    grant(staff, person, purposes=("treatment",))
    api = Api(app.test_client(), make_token(clinic, token_role))

    response = api.get("/participants/P-0001/observations")

    assert response.status_code == 403
    assert (response.json["error"], response.json["field"]) == (
        "consent_required",
        "recipient",
    )
    assert "Name the recipient" in response.json["message"]
    assert disclosures() == 0


@pytest.mark.parametrize("consented", [False, True], ids=["no-consent", "consent"])
@pytest.mark.parametrize("role", ["admin", "staff", "auditor"])
@pytest.mark.parametrize("path", STAFF_ROUTES)
def test_every_staff_export_that_discloses_needs_a_matching_consent(
    app, staff, clinic, person, role, path, consented
):
    if consented:
        grant(staff, person, purposes=("treatment",))
    make_staff(clinic, "boss", role)
    client = app.test_client()
    log_in(client, "boss")

    response = client.get(_with_recipient(path))

    if role not in REPORT_READERS:
        assert response.status_code == 403
        assert disclosures() == 0
    elif consented:
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert f"\n{CODE}," in response.get_data(as_text=True)
        assert response.headers["X-Part2-Notice"] == consents.NOTICE
        row = db.session.scalars(select(Disclosure)).one()
        assert row.by_user_id is not None
        assert row.by_token_id is None
    else:
        page = response.get_data(as_text=True)
        assert response.status_code == 403
        assert response.mimetype == "text/html"
        assert f"{CODE} has no consent to share records with {EHR}" in page
        assert 'id="consent-error"' in page
        assert disclosures() == 0


def test_a_participant_reaches_no_disclosing_route(app, staff, clinic, person):
    participants.set_pin(staff, person.id, "246810", now=NOW)
    grant(staff, person, purposes=("treatment",))
    client = app.test_client()
    portal_log_in(client, clinic.id)

    answers = [client.get(_with_recipient(p)).status_code for p in STAFF_ROUTES]
    answers += [
        client.get("/api/v1" + _with_recipient(p)).status_code for p, _ in API_ROUTES
    ]

    assert all(status in (302, 401, 403) for status in answers), answers
    assert disclosures() == 0


# -- what a consent must match ----------------------------------------------------


def observations(app, clinic, **token) -> tuple[int, dict]:
    api = Api(app.test_client(), recipient_token(clinic, **token))
    response = api.get("/participants/P-0001/observations")
    return response.status_code, response.json


def test_revocation_takes_effect_at_once(app, staff, clinic, person):
    consent = grant(staff, person, purposes=("treatment",))
    assert observations(app, clinic)[0] == 200

    consents.revoke_consent(
        staff, consent.id, revoked_on=NOW.date(), note="Signed revocation", now=NOW
    )
    status, body = observations(app, clinic)

    assert status == 403
    assert body["field"] == "revoked_on"
    assert f"was revoked on {NOW.date().isoformat()}" in body["message"]
    assert disclosures() == 1  # the one made before stands


def test_an_expired_consent_is_refused(app, staff, clinic, person):
    yesterday = NOW.date() - timedelta(days=1)
    grant(staff, person, purposes=("treatment",), expires_on=yesterday)

    status, body = observations(app, clinic)

    assert status == 403
    assert body["missing"] == ["expires_on"]
    assert f"expired on {yesterday.isoformat()}" in body["message"]
    assert disclosures() == 0


def test_a_consent_for_another_purpose_is_refused(app, staff, clinic, person):
    grant(staff, person, purposes=("payment",))

    status, body = observations(app, clinic)

    assert status == 403
    assert body["field"] == "purpose"
    assert "does not cover the purpose treatment" in body["message"]


def test_a_consent_for_another_recipient_is_refused(app, staff, clinic, person):
    grant(staff, person, "State Medicaid", purposes=("treatment",))

    status, body = observations(app, clinic)

    assert status == 403
    assert body["field"] == "recipient"


def test_a_consent_that_does_not_cover_test_results_is_refused(
    app, staff, clinic, person
):
    grant(staff, person, purposes=("treatment",), shares=("identity", "attendance"))

    status, body = observations(app, clinic)

    assert status == 403
    assert body["field"] == "shares"
    assert "does not cover sharing test results" in body["message"]


def test_a_consent_to_a_class_covers_a_recipient_of_that_class(
    app, staff, clinic, person
):
    grant(staff, person, "Treating providers", kind="class", purposes=("treatment",))

    named_only, _ = observations(app, clinic)
    in_class, _ = observations(app, clinic, class_name="treating  providers")

    assert (named_only, in_class) == (403, 200)


def test_the_fhir_bundle_carries_the_part2_label_and_notice(app, staff, clinic, person):
    grant(staff, person, purposes=("treatment",))

    api = Api(app.test_client(), recipient_token(clinic))
    response = api.get("/participants/P-0001/observations")
    bundle = json.loads(response.data)

    label = {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "42CFRPart2",
        "display": "42 CFR Part2",
    }
    assert label in bundle["meta"]["security"]
    assert bundle["meta"]["extension"][0]["valueString"] == consents.NOTICE
    assert "42 CFR part 2" in consents.NOTICE
    assert "NOT sufficient" in consents.NOTICE
    assert all(label in e["resource"]["meta"]["security"] for e in bundle["entry"])


# -- exports of many participants -------------------------------------------------


@pytest.fixture
def three(staff, clinic, person):
    """P-0001 consented, P-0002 never asked, P-0003 consented then revoked."""
    grant(staff, person, purposes=("treatment",))
    for code in ("P-0002", "P-0003"):
        other, _ = make_enrolled(staff, clinic, code=code)
        checkins.record_specimen(staff, other.id, START, NEG, now=NOW)
    revoked = grant(staff, other, purposes=("treatment",))
    consents.revoke_consent(
        staff, revoked.id, revoked_on=NOW.date(), note="Signed revocation", now=NOW
    )


def test_an_export_of_many_holds_only_the_consented_and_counts_the_rest(
    app, clinic, three
):
    api = Api(app.test_client(), recipient_token(clinic))

    response = api.get(f"/reports/outcomes?{WINDOW}&format=csv")
    as_json = api.get(f"/reports/outcomes?{WINDOW}").json

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["participant"] for r in rows] == [CODE]
    assert response.headers["X-Part2-Left-Out"] == "2"
    assert response.headers["X-Part2-Left-Out-Reasons"] == (
        "2 participants left out: 1 no consent naming the recipient, 1 consent revoked."
    )
    assert as_json["left_out"] == 2
    assert as_json["left_out_reasons"] == {"recipient": 1, "revoked_on": 1}
    assert as_json["notice"] == consents.NOTICE
    assert disclosures() == 2  # one per export, each of P-0001
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export_outcome_report")
    ).first()
    assert audit.detail["participants"] == [CODE]
    assert audit.detail["left_out"] == {"recipient": 1, "revoked_on": 1}


def test_the_report_page_says_who_an_export_would_hold_before_it_is_made(
    app, clinic, three
):
    make_staff(clinic, "boss", "auditor")
    client = app.test_client()
    log_in(client, "boss")

    page = client.get(f"/staff/reports/?{WINDOW}&{EHR_QUERY}").get_data(as_text=True)

    assert "1 participant(s) have a matching consent." in page
    assert "2 participants left out: 1 no consent naming the recipient" in page
    assert "recipient=County+EHR" in page  # the download links name it
    assert disclosures() == 0  # checking is not disclosing


def test_a_deidentified_export_needs_no_consent_and_says_so(app, clinic, person):
    api = Api(app.test_client(), make_token(clinic, "auditor"))

    response = api.get(f"/reports/outcomes?{WINDOW}&format=csv&deidentified=1")
    as_json = api.get(f"/reports/tests?{WINDOW}&deidentified=1").json

    assert response.status_code == 200
    assert CODE not in response.get_data(as_text=True)
    assert "needs no 42 CFR Part 2 consent" in response.headers["X-Part2-Notice"]
    assert as_json["notice"] == consents.DEIDENTIFIED_NOTICE
    assert as_json["deidentified"] is True
    assert disclosures() == 0


# -- disclosures are history; tokens name their recipient ---------------------------


def test_a_disclosure_row_cannot_be_changed_or_deleted(app, staff, clinic, person):
    grant(staff, person, purposes=("treatment",))
    observations(app, clinic)

    for statement in (
        "UPDATE disclosure SET recipient = 'x'",
        "DELETE FROM disclosure",
    ):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()

    assert disclosures() == 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"role": "staff", "recipient": EHR, "purpose": "treatment"}, "role"),
        ({"role": "auditor", "recipient": EHR}, "purpose"),
        ({"role": "auditor", "recipient": EHR, "purpose": "gossip"}, "purpose"),
        ({"role": "auditor", "purpose": "treatment"}, "purpose"),
        (
            {"role": "auditor", "recipient": "x" * 201, "purpose": "payment"},
            "recipient",
        ),
    ],
)
def test_a_recipients_token_only_reads_for_a_stated_purpose(clinic, args, field):
    args = dict(args)
    role = args.pop("role")

    with pytest.raises(InvalidInput) as refused:
        api_tokens.create_token(SYSTEM, clinic.id, role, now=NOW, **args)

    assert refused.value.field == field


def test_token_create_takes_a_recipient(runner, clinic):
    result = runner.invoke(
        args=[
            "cm",
            "token",
            "create",
            "--clinic",
            str(clinic.id),
            "--role",
            "auditor",
            "--recipient",
            "County EHR",
            "--purpose",
            "treatment",
        ]
    )

    assert result.exit_code == 0, result.output
    assert "(recipient County EHR, for treatment)" in result.output
    secret = result.output.strip().splitlines()[-1]
    assert api_tokens.authenticate(secret).recipient == "County EHR"


@pytest.mark.parametrize("consented", [False, True], ids=["no-consent", "consent"])
@pytest.mark.parametrize("role", ["admin", "staff", "auditor"])
def test_the_staff_fhir_export_needs_a_matching_consent(
    app, staff, clinic, person, role, consented, clock
):
    if consented:
        grant(staff, person, purposes=("treatment",))
    make_staff(clinic, "boss", role)
    client = app.test_client()
    log_in(client, "boss")

    response = client.get(f"/staff/participants/{person.id}/consents/fhir?{EHR_QUERY}")

    if consented:
        assert response.status_code == 200
        assert response.mimetype == "application/fhir+json"
        bundle = json.loads(response.data)
        assert bundle["meta"]["extension"][0]["valueString"] == consents.NOTICE
        row = db.session.scalars(select(Disclosure)).one()
        assert (row.route, row.by_token_id) == ("staff FHIR export", None)
        assert row.by_user_id is not None
    else:
        page = response.get_data(as_text=True)
        assert response.status_code == 403
        assert 'id="fhir-error"' in page
        assert f"{CODE} has no consent to share records with {EHR}" in page
        assert disclosures() == 0
