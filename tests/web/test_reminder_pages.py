"""Reminder pages: staff record the opt-in, the participant manages or stops them in
the portal, a signed STOP reply ends text messages, and the operations page lists
the dead letters with a retry button."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Consent, OutboxMessage, Participant, ReminderChannel
from cm_service.services.integrations import reminders
from cm_service.services.integrations.delivery import twilio_signature
from cm_service.services.integrations.reminders import Choices
from tests.support.factories import make_staff
from tests.support.portal import make_participant, portal_log_in
from tests.support.web import csrf_token, log_in

TOKEN = "twilio-auth-token"
HOOK = "/hooks/sms/twilio"
SIGNED_URL = "https://cm.example.org/hooks/sms/twilio"
CHOICES = Choices(
    sms=True,
    phone="+15551234567",
    email=True,
    email_address="p@example.org",
    signed_on=date(2026, 2, 1),
)


@pytest.fixture
def client(app):
    return app.test_client()


def channels(participant_id: int) -> dict[str, ReminderChannel]:
    db.session.expire_all()
    return {
        c.channel: c
        for c in db.session.scalars(
            select(ReminderChannel).where(
                ReminderChannel.participant_id == participant_id
            )
        )
    }


def test_staff_record_the_opt_in_and_its_consent_on_the_participant(
    client, staff, clinic
):
    person = make_participant(staff, clinic)
    log_in(client, "tech")
    path = f"/staff/participants/{person.id}/reminders"

    page = client.get(path).get_data(as_text=True)
    assert "never switched on" in page
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "sms": "y",
            "phone": "(555) 123-4567",
            "signed_on": "2026-02-01",
            "quiet_from": "22:00",
            "quiet_until": "07:30",
            "timezone": "America/Los_Angeles",
        },
    )

    assert response.status_code == 302
    found = channels(person.id)
    assert set(found) == {"sms"}
    assert found["sms"].address == "+15551234567"
    assert found["sms"].opted_in_by_type == "staff"
    consent = db.session.get(Consent, found["sms"].consent_id)
    assert consent.purposes == ["reminders"]
    assert consent.signed_on == date(2026, 2, 1)
    page = client.get(path).get_data(as_text=True)
    assert "on, to +15551234567" in page
    assert 'value="America/Los_Angeles"' in page


def test_a_wrong_number_or_a_missing_consent_date_is_shown_on_its_field(
    client, staff, clinic
):
    person = make_participant(staff, clinic)
    log_in(client, "tech")
    path = f"/staff/participants/{person.id}/reminders"
    base = {"sms": "y", "quiet_from": "21:00", "quiet_until": "08:00"}

    wrong = client.post(
        path, data={**base, "phone": "12", "csrf_token": csrf_token(client, path)}
    )
    undated = client.post(
        path,
        data={**base, "phone": "5551234567", "csrf_token": csrf_token(client, path)},
    )

    assert wrong.status_code == 422
    assert 'id="phone-error"' in wrong.get_data(as_text=True)
    assert undated.status_code == 422
    assert 'id="signed_on-error"' in undated.get_data(as_text=True)
    assert channels(person.id) == {}


def test_an_auditor_sees_the_choices_but_cannot_change_them(client, staff, clinic):
    person = make_participant(staff, clinic)
    make_staff(clinic, "reader", "auditor")
    log_in(client, "reader")
    path = f"/staff/participants/{person.id}/reminders"

    page = client.get(path)
    refused = client.post(path, data={"csrf_token": csrf_token(client, path)})

    assert page.status_code == 200
    assert "Record the participant" not in page.get_data(as_text=True)
    assert refused.status_code == 403


def test_the_participant_stops_all_reminders_in_the_portal(client, staff, clinic):
    person = make_participant(staff, clinic)
    reminders.save(staff, person.id, CHOICES, now=datetime.now(UTC))
    portal_log_in(client, clinic)

    page = client.get("/me/reminders").get_data(as_text=True)
    assert "•••• 4567" in page
    assert "+15551234567" not in page  # not on a shared screen
    response = client.post(
        "/me/reminders",
        data={
            "csrf_token": csrf_token(client, "/me/reminders"),
            "sms": "y",
            "email": "y",
            "quiet_from": "21:00",
            "quiet_until": "08:00",
            "stop": "all",
        },
        follow_redirects=True,
    )

    assert "You will get no more reminders." in response.get_data(as_text=True)
    found = channels(person.id)
    assert {c.opted_out_by_type for c in found.values()} == {"participant"}


def test_the_portal_page_reads_in_spanish_and_keeps_one_channel(client, staff, clinic):
    person = make_participant(staff, clinic)
    reminders.save(staff, person.id, CHOICES, now=datetime.now(UTC))
    db.session.get(Participant, person.id).language = "es"
    db.session.commit()
    portal_log_in(client, clinic)

    response = client.post(
        "/me/reminders",
        data={
            "csrf_token": csrf_token(client, "/me/reminders"),
            "email": "y",
            "explicit": "y",
            "quiet_from": "20:00",
            "quiet_until": "09:00",
        },
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "Se guardaron sus opciones de recordatorios." in page
    assert "Horas de silencio desde" in page
    found = channels(person.id)
    assert found["sms"].opted_out_at is not None
    assert found["email"].opted_out_at is None


def _signed(app, data: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(token, SIGNED_URL, data)}


def test_a_signed_stop_reply_ends_text_reminders(app, client, staff, clinic):
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, SMS_WEBHOOK_URL=SIGNED_URL)
    person = make_participant(staff, clinic)
    reminders.save(staff, person.id, CHOICES, now=datetime.now(UTC))
    data = {"From": "+15551234567", "Body": " Stop ", "MessageSid": "SM1"}

    forged = client.post(HOOK, data=data, headers=_signed(app, data, "wrong"))
    signed = client.post(HOOK, data=data, headers=_signed(app, data))

    assert forged.status_code == 403
    assert signed.status_code == 200
    assert "<Response>" in signed.get_data(as_text=True)
    found = channels(person.id)
    assert found["sms"].opted_out_by_type == "stop_reply"
    assert found["email"].opted_out_at is None


def test_the_webhook_is_off_without_a_provider_token(client):
    assert client.post(HOOK, data={"Body": "STOP"}).status_code == 404


def test_the_operations_page_lists_dead_letters_and_retries_one(client, staff, clinic):
    make_staff(clinic, "boss", "admin")
    person = make_participant(staff, clinic)
    reminders.save(staff, person.id, CHOICES, now=datetime.now(UTC))
    (recipient,) = reminders.recipients([person.id], date.today()).values()
    message = reminders.msg(reminders.AWARD_PRIVATE, clinic="Test Clinic", amount=5)
    reminders.queue(recipient, "award", "ops-test", message, now=datetime.now(UTC))
    for row in db.session.scalars(select(OutboxMessage)):
        row.status, row.attempts, row.last_error = "dead", 5, "HTTP 503: down"
    db.session.commit()
    log_in(client, "boss")

    page = client.get("/staff/ops/").get_data(as_text=True)
    assert 'id="dead-letters"' in page
    assert "HTTP 503: down" in page
    assert "P-0001" in page
    first = db.session.scalars(select(OutboxMessage)).first()
    response = client.post(
        f"/staff/ops/outbox/{first.id}/retry",
        data={"csrf_token": csrf_token(client, "/staff/ops/")},
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMessage, first.id).status == "pending"
    assert db.session.get(OutboxMessage, first.id).attempts == 0
