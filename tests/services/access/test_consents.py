"""services/access/consents.py: what a consent must say, what matches a disclosure, and
that disclosures are history (issue 17)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from cm_service.extensions import db
from cm_service.models import AppendOnlyViolation, AuditLog, Consent, Disclosure
from cm_service.services.access import api_tokens, consents
from cm_service.services.access.actors import SYSTEM, Recipient
from cm_service.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.support.consents import EHR, EHR_TREATMENT, grant
from tests.support.factories import NOW, START, make_enrolled, make_staff

TODAY = NOW.date()


@pytest.fixture
def person(staff, clinic):
    return make_enrolled(staff, clinic)[0]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": "   "}, "recipient"),
        ({"recipient_kind": "everyone"}, "recipient_kind"),
        ({"purposes": ()}, "purposes"),
        ({"purposes": ("treatment", 7)}, "purposes"),
        ({"shares": ("identity", "dreams")}, "shares"),
        ({"purposes": ("other",), "purpose_note": "ok"}, "purpose_note"),
        ({"signed_on": TODAY + timedelta(days=1)}, "signed_on"),
        ({"signed_on": "2026-01-05"}, "signed_on"),
        ({"expires_on": START - timedelta(days=1)}, "expires_on"),
        ({"expires_on": date(2200, 1, 1)}, "expires_on"),
    ],
)
def test_a_bad_consent_names_its_field_and_writes_nothing(staff, person, change, field):
    args = {
        "recipient": EHR,
        "recipient_kind": "named",
        "purposes": ("treatment",),
        "shares": ("identity",),
        "signed_on": START,
        **change,
    }
    before = count(AuditLog)

    with pytest.raises(InvalidInput) as refused:
        consents.record_consent(staff, person.id, now=NOW, **args)

    assert refused.value.field == field
    db.session.rollback()
    assert (count(Consent), count(AuditLog)) == (0, before)


def test_purposes_and_shares_are_kept_once_in_their_order(staff, person):
    consent = grant(
        staff,
        person,
        purposes=("payment", "treatment", "payment"),
        shares=("incentives", "identity"),
    )

    assert consent.purposes == ["treatment", "payment"]
    assert consent.shares == ["identity", "incentives"]


def test_auditors_cannot_record_and_other_clinics_are_not_found(
    staff, clinic, other_clinic, person
):
    auditor = make_staff(clinic, "checker", "auditor")
    outsider = make_staff(other_clinic, "elsewhere")

    with pytest.raises(Forbidden):
        grant(auditor, person)
    with pytest.raises(NotFound):
        grant(outsider, person)
    consent = grant(staff, person)
    with pytest.raises(NotFound):
        consents.revoke_consent(
            outsider, consent.id, revoked_on=TODAY, note="Signed form", now=NOW
        )


def test_a_consent_is_revoked_once(staff, person):
    consent = grant(staff, person)
    consents.revoke_consent(
        staff, consent.id, revoked_on=TODAY, note="Signed form", now=NOW
    )

    with pytest.raises(Conflict) as again:
        consents.revoke_consent(
            staff, consent.id, revoked_on=TODAY, note="Signed form", now=NOW
        )

    assert again.value.code == "already_revoked"


def test_the_most_recently_signed_matching_consent_is_relied_on(staff, person):
    grant(staff, person, signed_on=START)
    newer = grant(staff, person, " county  ehr ", signed_on=START + timedelta(days=3))

    found = consents.find_consent(person, EHR_TREATMENT, ("identity",), TODAY)

    assert found.id == newer.id


def test_the_refusal_says_everything_the_closest_consent_lacks(staff, person):
    grant(
        staff,
        person,
        purposes=("payment",),
        shares=("identity",),
        expires_on=TODAY - timedelta(days=1),
    )

    with pytest.raises(consents.ConsentRequired) as refused:
        consents.find_consent(person, EHR_TREATMENT, consents.FHIR_SHARES, TODAY)

    assert refused.value.missing == ("expires_on", "purpose", "shares")
    assert refused.value.field == "expires_on"
    assert "does not cover sharing test results" in refused.value.message


def test_a_consent_signed_for_a_later_day_is_not_in_force(staff, person):
    grant(staff, person, signed_on=TODAY)
    tomorrow_of_signing = TODAY - timedelta(days=1)

    with pytest.raises(consents.ConsentRequired) as refused:
        consents.find_consent(person, EHR_TREATMENT, ("identity",), tomorrow_of_signing)

    assert refused.value.field == "signed_on"


def test_the_clinics_own_tokens_disclose_nothing_when_they_read(staff, clinic, person):
    token, _ = api_tokens.create_token(SYSTEM, clinic.id, "auditor", now=NOW)

    found = consents.disclose_record(
        api_tokens.api_actor(token), person.id, ("identity",), route="GET", now=NOW
    )

    assert found is None
    assert count(Disclosure) == 0


def test_a_disclosure_is_history_in_the_orm_too(staff, clinic, person):
    grant(staff, person)
    token, _ = api_tokens.create_token(
        SYSTEM, clinic.id, "auditor", now=NOW, recipient=EHR, purpose="payment"
    )
    made = consents.disclose_record(
        api_tokens.api_actor(token), person.id, ("identity",), route="GET", now=NOW
    )
    audit = db.session.get(AuditLog, made.audit_log_id)
    assert (audit.action, audit.detail["consent"]) == (
        "disclose_record",
        made.consent_id,
    )

    made.route = "elsewhere"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()


def test_a_recipient_named_in_a_request_needs_a_known_purpose(staff):
    with pytest.raises(consents.ConsentRequired) as unnamed:
        consents.recipient_for(staff, None, None, default_purpose="research")
    with pytest.raises(consents.ConsentRequired) as unknown:
        consents.recipient_for(staff, EHR, "curiosity")

    assert (unnamed.value.field, unknown.value.field) == ("recipient", "purpose")
    assert consents.recipient_for(
        staff, EHR, None, "Payers", default_purpose="payment"
    ) == Recipient(EHR, "payment", "Payers")


def test_a_revocation_committed_after_the_check_stops_the_disclosure(
    staff, clinic, person
):
    grant(staff, person)
    token, _ = api_tokens.create_token(
        SYSTEM, clinic.id, "auditor", now=NOW, recipient=EHR, purpose="payment"
    )
    actor = api_tokens.api_actor(token)
    consent = consents.find_consent(person, actor.recipient, ("identity",), TODAY)
    consent_id, person_id = consent.id, person.id
    db.session.commit()  # the check's read ends, as a GET's does before it writes
    # Another request revokes it between the check and the write.
    with db.engine.connect() as other:
        other.execute(
            update(Consent)
            .where(Consent.id == consent_id)
            .values(revoked_on=TODAY, revoked_at=NOW)
        )
        other.commit()
    audit = audit_row(actor)

    with pytest.raises(consents.ConsentRequired) as refused:
        consents.log_disclosure(
            actor, person_id, consent, actor.recipient, ("identity",),
            route="GET", audit_row=audit, now=NOW,
        )  # fmt: skip

    assert refused.value.field == "revoked_on"
    assert count(Disclosure) == 0
    assert db.session.get(AuditLog, audit.id) is None  # rolled back with it


def audit_row(actor) -> AuditLog:
    from cm_service.services.access import audit

    return audit.append(actor, "disclose_record", "participant", None, now=NOW)
