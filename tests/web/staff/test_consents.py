"""Consents on the staff pages (issue 17): recorded and revoked from the
participant's record, audited, with every bad value refused next to its field and
nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, Consent
from tests.support.consents import grant
from tests.support.factories import NOW, make_enrolled, make_staff
from tests.support.pages import count, page_of
from tests.support.web import csrf_token, log_in

GOOD = {
    "recipient": "Los Angeles County DMH EHR",
    "recipient_kind": "named",
    "purposes": ["treatment", "payment", "operations"],
    "shares": ["identity", "test_results"],
    "signed_on": "2026-01-05",
    "expires_on": "",
}


def _url(person) -> str:
    return f"/staff/participants/{person.id}/consents"


def _post(client, person, data: dict, token: str | None = None):
    token = token or csrf_token(client, _url(person))
    return client.post(_url(person), data={"csrf_token": token, **data})


def _audited(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def test_staff_record_a_consent_and_see_it_listed(logged_in, person):
    response = _post(logged_in, person, GOOD)

    assert response.status_code == 302
    consent = db.session.scalars(select(Consent)).one()
    assert consent.recipient == "Los Angeles County DMH EHR"
    assert consent.purposes == ["treatment", "payment", "operations"]
    assert (consent.shares, consent.expires_on) == (["identity", "test_results"], None)
    (row,) = _audited("record_consent")
    assert (row.participant_id, row.object_id) == (person.id, consent.id)
    page = page_of(logged_in.get(response.headers["Location"]))
    assert "Consent to share with Los Angeles County DMH EHR recorded." in page
    assert "Treatment, Payment, Health-care operations" in page
    assert "Never: valid until revoked in writing" in page
    assert "Active" in page


def test_the_record_links_to_the_consents_page_and_viewing_it_is_audited(
    logged_in, person
):
    record = page_of(logged_in.get(f"/staff/participants/{person.id}"))
    assert f'href="{_url(person)}"' in record

    logged_in.get(_url(person))

    assert [r.participant_id for r in _audited("view_consents")] == [person.id]


BAD = [
    ({"recipient": ""}, "recipient", "Name the recipient"),
    ({"recipient": "x" * 201}, "recipient", "200"),
    ({"recipient": "EHR\x00"}, "recipient", "control character"),
    ({"recipient_kind": "anyone"}, "recipient_kind", "Not a valid choice"),
    ({"purposes": []}, "purposes", "at least one purpose"),
    ({"purposes": ["gossip"]}, "purposes", "not a valid choice"),
    ({"purposes": ["other"]}, "purpose_note", "Describe the other purpose"),
    ({"shares": []}, "shares", "Choose what may be shared"),
    ({"signed_on": "2026-02-09"}, "signed_on", "after today"),
    ({"signed_on": "soon"}, "signed_on", "YYYY-MM-DD"),
    ({"expires_on": "2025-12-31"}, "expires_on", "2026-01-05"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD)
def test_bad_input_is_refused_next_to_its_field_and_writes_nothing(
    logged_in, person, change, field, message
):
    token = csrf_token(logged_in, _url(person))  # a view: audited
    before = count(AuditLog)

    response = _post(logged_in, person, {**GOOD, **change}, token)

    page = page_of(response)
    assert response.status_code == 422
    error = page.split(f'id="{field}-error">', 1)
    assert len(error) == 2, page
    assert message.lower() in error[1].split("</p>", 1)[0].lower()
    assert count(Consent) == 0
    assert count(AuditLog) == before  # not even a view row for showing it back


def test_an_auditor_sees_consents_but_cannot_record_or_revoke(
    client, clinic, staff, person
):
    consent = grant(staff, person)
    make_staff(clinic, "checker", "auditor")
    log_in(client, "checker")

    page = page_of(client.get(_url(person)))
    token = csrf_token(client, _url(person))  # the logout form's
    recorded = client.post(_url(person), data={"csrf_token": token, **GOOD})
    revoked = client.post(
        f"{_url(person)}/{consent.id}/revoke", data={"csrf_token": token}
    )

    assert "County EHR" in page
    assert "Record a signed consent" not in page
    assert "Revoke consent" not in page
    assert (recorded.status_code, revoked.status_code) == (403, 403)
    assert count(Consent) == 1


def test_staff_revoke_a_consent_and_it_shows_as_revoked(logged_in, staff, person):
    consent = grant(staff, person)
    token = csrf_token(logged_in, _url(person))

    response = logged_in.post(
        f"{_url(person)}/{consent.id}/revoke",
        data={
            "csrf_token": token,
            f"revoke-{consent.id}-revoked_on": "2026-02-01",
            f"revoke-{consent.id}-revocation_note": "Signed revocation form",
        },
    )

    assert response.status_code == 302
    db.session.expire_all()
    consent = db.session.get(Consent, consent.id)
    assert (consent.revoked_on.isoformat(), consent.revoked_at) == ("2026-02-01", NOW)
    assert [r.object_id for r in _audited("revoke_consent")] == [consent.id]
    page = page_of(logged_in.get(_url(person)))
    assert "Revoked" in page
    assert "2026-02-01: Signed revocation form" in page
    assert "Revoke consent" not in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"revoked_on": "2026-02-01", "revocation_note": ""}, "revocation_note", "how"),
        (
            {"revoked_on": "2025-12-01", "revocation_note": "Signed form"},
            "revoked_on",
            "2026-01-05",
        ),
        (
            {"revoked_on": "2026-03-01", "revocation_note": "Signed form"},
            "revoked_on",
            "after today",
        ),
    ],
)
def test_a_bad_revocation_is_refused_next_to_its_field(
    logged_in, staff, person, data, field, message
):
    consent = grant(staff, person)
    token = csrf_token(logged_in, _url(person))
    prefix = f"revoke-{consent.id}-"

    response = logged_in.post(
        f"{_url(person)}/{consent.id}/revoke",
        data={"csrf_token": token, **{prefix + k: v for k, v in data.items()}},
    )

    page = page_of(response)
    assert response.status_code == 422
    error = page.split(f'id="{prefix}{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message.lower() in error.lower()
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).revoked_at is None


def test_another_clinics_participant_and_consent_are_not_found(
    logged_in, staff, person, other_clinic
):
    elsewhere = make_staff(other_clinic, "elsewhere")
    theirs, _ = make_enrolled(elsewhere, other_clinic, code="P-0777")
    consent = grant(elsewhere, theirs)
    token = csrf_token(logged_in, _url(person))

    page = logged_in.get(_url(theirs))
    revoked = logged_in.post(
        f"{_url(person)}/{consent.id}/revoke", data={"csrf_token": token}
    )

    assert (page.status_code, revoked.status_code) == (404, 404)
    assert db.session.get(Consent, consent.id).revoked_at is None
