"""The portal's "who my records were shared with" (issue 17): a participant's own
consents and every disclosure made under them, in English and Spanish, and never
another participant's."""

from __future__ import annotations

from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import api_tokens, consents
from cm_service.services.access.actors import SYSTEM
from tests.support.consents import EHR, grant
from tests.support.factories import NOW
from tests.support.portal import make_participant, portal_log_in
from tests.web.portal.test_portal_language import choose


def disclose(clinic, person, recipient: str = EHR, shared=("identity",)) -> None:
    token, _ = api_tokens.create_token(
        SYSTEM, clinic.id, "auditor", now=NOW, recipient=recipient, purpose="payment"
    )
    consents.disclose_record(
        api_tokens.api_actor(token), person.id, shared, route="GET", now=NOW
    )


def test_a_participant_sees_their_consents_and_disclosures(
    client, staff, clinic, person
):
    grant(staff, person, purposes=("treatment", "payment"), shares=("identity",))
    revoked = grant(staff, person, "State Medicaid", purposes=("payment",))
    consents.revoke_consent(
        staff, revoked.id, revoked_on=NOW.date(), note="Signed form", now=NOW
    )
    disclose(clinic, person)
    portal_log_in(client, clinic.id)
    audited = db.session.scalar(select(func.count()).select_from(AuditLog))

    page = client.get("/me/shared").get_data(as_text=True)

    assert "Who your records were shared with" in page
    assert "County EHR" in page
    assert "treatment, payment" in page
    assert "Until you revoke it in writing" in page
    assert "Revoked on Feb 2, 2026" in page
    assert 'id="disclosures"' in page
    assert "who you are" in page
    assert 'href="/me/shared" aria-current="page"' in page
    # Reading one's own record is not a view by staff: nothing is audited.
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audited


def test_the_page_reads_in_spanish(client, staff, clinic, person):
    grant(staff, person, purposes=("treatment", "payment"))
    disclose(clinic, person, shared=("identity", "test_results"))
    portal_log_in(client, clinic.id)
    choose(client, "es", on="/me/shared")  # as the footer's buttons do
    page = client.get("/me/shared").get_data(as_text=True)

    assert "Con quién se compartieron sus registros" in page
    assert "Hasta que lo revoque por escrito" in page
    assert "tratamiento" in page
    assert "quién es usted, resultados de pruebas" in page
    assert "Who your records" not in page


def test_nothing_shared_says_so(client, clinic, person):
    portal_log_in(client, clinic.id)

    page = client.get("/me/shared").get_data(as_text=True)

    assert "You have not consented to share your records with anyone." in page
    assert "Your records have not been shared with anyone." in page


def test_a_participant_sees_only_their_own_disclosures(client, staff, clinic, person):
    other = make_participant(staff, clinic, code="P-0002")
    grant(staff, other, "State Medicaid", purposes=("payment",))
    disclose(clinic, other, "State Medicaid")
    grant(staff, person, purposes=("payment",))
    portal_log_in(client, clinic.id)

    page = client.get("/me/shared").get_data(as_text=True)

    assert "County EHR" in page
    assert "State Medicaid" not in page
    assert "Your records have not been shared with anyone." in page


def test_the_page_needs_a_portal_login(client, staff, clinic, person):
    response = client.get("/me/shared")

    assert response.status_code == 302
    assert "/me/" in response.headers["Location"]


def test_the_consent_for_reminders_reads_in_spanish(client, staff, clinic, person):
    from datetime import date

    from cm_service.services.integrations import reminders

    reminders.save(
        staff,
        person.id,
        reminders.Choices(sms=True, phone="(555) 123-4567", signed_on=date(2026, 2, 1)),
        now=NOW,
    )
    portal_log_in(client, clinic.id)
    choose(client, "es", on="/me/shared")

    page = client.get("/me/shared").get_data(as_text=True)

    assert "Recordatorios para usted (mensajes de texto y correo electrónico)" in page
    assert "Reminder messages to the participant" not in page
