from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, LoginAttempt
from cm_service.services.access import lockout
from tests.support.portal import (
    PIN,
    login_path,
    make_participant,
    portal_log_in,
)
from tests.support.web import csrf_token, log_in

GENERIC = "That code and PIN do not match. Check them, or ask staff for help."


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_participant_logs_in_with_code_and_pin_and_lands_on_home(
    client, person, clinic
):
    response = portal_log_in(client, clinic.id)

    assert response.status_code == 302
    assert response.headers["Location"] == "/me/"
    page = client.get("/me/").get_data(as_text=True)
    assert "Your balance" in page
    assert "Hello, P-0001" in page


def test_the_code_is_not_case_sensitive(client, person, clinic):
    assert portal_log_in(client, clinic.id, code=" p-0001 ").status_code == 302


def test_a_successful_login_is_audited_as_the_participant(client, person, clinic):
    portal_log_in(client, clinic.id)

    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "portal_login")
    ).one()
    assert (row.actor_type, row.actor_id, row.participant_id) == (
        "participant",
        person.id,
        person.id,
    )
    attempt = db.session.scalars(select(LoginAttempt)).one()
    assert (attempt.kind, attempt.account_key, attempt.success) == (
        "participant",
        f"{clinic.id}:P-0001",
        True,
    )


@pytest.mark.parametrize(
    ("code", "pin"),
    [("P-0001", "999999"), ("P-0404", PIN), ("P-0001", PIN + "0")],
    ids=["wrong PIN", "unknown code", "longer PIN"],
)
def test_every_failed_login_gets_the_same_message_and_one_attempt_record(
    client, person, clinic, code, pin
):
    audit_rows = count(AuditLog)

    response = portal_log_in(client, clinic.id, code=code, pin=pin)

    assert response.status_code == 422
    assert GENERIC in response.get_data(as_text=True)
    attempt = db.session.scalars(select(LoginAttempt)).one()
    assert attempt.success is False
    failed = db.session.scalars(
        select(AuditLog).where(AuditLog.id > 0).order_by(AuditLog.id.desc())
    ).first()
    assert failed.action == "portal_login_failed"
    assert PIN not in str(failed.detail)
    assert pin not in str(failed.detail)
    assert count(AuditLog) == audit_rows + 1
    assert client.get("/me/").status_code == 302


def test_a_code_from_another_clinic_does_not_log_in(
    client, person, clinic, other_clinic
):
    response = portal_log_in(client, other_clinic.id)

    assert response.status_code == 422
    assert GENERIC in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "", "Enter your participant code."),
        ("code", "p 1!", "Enter your participant code, e.g. P-0042."),
        ("code", "P" * 41, "Enter your participant code, e.g. P-0042."),
        ("pin", "", "Enter your PIN."),
        ("pin", "12345", "Your PIN is 6 to 12 digits."),
        ("pin", "abcdefg", "Your PIN is 6 to 12 digits."),
        ("pin", "1" * 13, "Your PIN is 6 to 12 digits."),
    ],
)
def test_malformed_input_gets_a_clear_message_and_writes_nothing(
    client, person, clinic, field, value, message
):
    audit_rows = count(AuditLog)
    path = login_path(clinic)
    data = {"code": "P-0001", "pin": PIN, field: value}

    response = client.post(path, data={**data, "csrf_token": csrf_token(client, path)})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    assert count(LoginAttempt) == 0
    assert count(AuditLog) == audit_rows


def test_the_general_login_page_names_no_clinic(client, clinic, other_clinic):
    # Issue 15: listing every clinic told anyone who is treated where (42 CFR
    # Part 2); the clinic now comes from the link on the participant's card.
    response = client.get("/me/login")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Test Clinic" not in page
    assert "Other Clinic" not in page
    assert 'name="clinic"' not in page
    assert 'name="pin"' not in page
    assert clinic.portal_slug not in page
    assert "Use the link or QR code on your card, or ask staff." in page


def test_the_general_login_page_takes_no_login(client, person, clinic):
    response = client.post(
        "/me/login", data={"clinic": clinic.id, "code": "P-0001", "pin": PIN}
    )

    assert response.status_code == 405
    assert count(LoginAttempt) == 0


def test_the_clinics_own_link_names_the_clinic_and_asks_code_and_pin(
    client, clinic, other_clinic
):
    page = client.get(login_path(clinic)).get_data(as_text=True)

    assert "Test Clinic" in page
    assert "Other Clinic" not in page
    assert 'name="clinic"' not in page
    assert 'name="code"' in page
    assert 'name="pin"' in page


def test_a_login_through_the_clinics_link_works(client, person, clinic, other_clinic):
    response = portal_log_in(client, clinic)

    assert response.status_code == 302
    assert response.headers["Location"] == "/me/"
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "portal_login")
    ).one()
    assert row.clinic_id == clinic.id


def test_the_old_numbered_login_url_is_gone(client, person, clinic):
    # Clinic ids count up from 1: a numbered URL let anyone walk every clinic.
    assert client.get(f"/me/{clinic.id}/login").status_code == 404
    token = csrf_token(client, login_path(clinic))

    response = client.post(
        f"/me/{clinic.id}/login",
        data={"code": "P-0001", "pin": PIN, "csrf_token": token},
    )

    assert response.status_code == 404
    assert count(LoginAttempt) == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_link_is_the_portals_not_found_page(client, person, clinic, method):
    token = csrf_token(client, login_path(clinic))
    audit_rows = count(AuditLog)
    wrong = clinic.portal_slug[:-1] + ("a" if clinic.portal_slug[-1] != "a" else "b")

    response = getattr(client, method)(
        f"/me/{wrong}/login",
        data={"code": "P-0001", "pin": PIN, "csrf_token": token},
    )

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "There is nothing here." in page
    assert "Test Clinic" not in page
    assert count(LoginAttempt) == 0
    assert count(AuditLog) == audit_rows


def test_five_failures_lock_the_code_even_against_the_right_pin(client, person, clinic):
    for _ in range(lockout.MAX_FAILURES):
        portal_log_in(client, clinic.id, pin="000000")

    response = portal_log_in(client, clinic.id)

    assert response.status_code == 422
    assert "Too many tries" in response.get_data(as_text=True)
    assert client.get("/me/").status_code == 302


def test_the_lock_ends_after_the_window(client, person, clinic, clock):
    for _ in range(lockout.MAX_FAILURES):
        portal_log_in(client, clinic.id, pin="000000")

    clock.now += lockout.WINDOW + timedelta(minutes=1)

    assert portal_log_in(client, clinic.id).status_code == 302


def test_a_lock_on_one_code_leaves_another_participant_alone(
    client, person, staff, clinic
):
    make_participant(staff, clinic, code="P-0002")
    for _ in range(lockout.MAX_FAILURES):
        portal_log_in(client, clinic.id, pin="000000")

    assert portal_log_in(client, clinic.id, code="P-0002").status_code == 302


def test_a_participant_without_a_pin_cannot_log_in(client, staff, clinic):
    make_participant(staff, clinic, code="P-0003", pin=None)

    response = portal_log_in(client, clinic.id, code="P-0003", pin="123456")

    assert response.status_code == 422


def test_an_idle_session_ends_after_ten_minutes(client, person, clinic, clock):
    portal_log_in(client, clinic.id)
    clock.now += timedelta(minutes=10, seconds=1)

    response = client.get("/me/history")

    assert response.status_code == 302
    assert response.headers["Location"] == login_path(clinic)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "logged out after 10 minutes without activity" in page
    assert client.get("/me/").status_code == 302


def test_activity_keeps_the_session_alive(client, person, clinic, clock):
    portal_log_in(client, clinic.id)
    for _ in range(3):
        clock.now += timedelta(minutes=9)
        assert client.get("/me/").status_code == 200


def test_log_out_ends_the_participant_session_and_returns_to_the_clinic_login(
    client, person, clinic
):
    portal_log_in(client, clinic.id)
    token = csrf_token(client, "/me/")

    response = client.post("/me/logout", data={"csrf_token": token})

    assert response.headers["Location"] == login_path(clinic)
    assert "You are logged out." in client.get(response.headers["Location"]).text
    assert client.get("/me/").status_code == 302
    with client.session_transaction() as session:
        assert "participant_id" not in session
    assert db.session.scalars(
        select(AuditLog.action).order_by(AuditLog.id.desc())
    ).first() == ("portal_logout")


def test_logging_out_of_the_portal_keeps_a_staff_login(client, person, staff, clinic):
    log_in(client, "tech")
    portal_log_in(client, clinic.id)

    client.post("/me/logout", data={"csrf_token": csrf_token(client, "/me/")})

    assert client.get("/staff/participants").status_code == 200


def test_a_staff_login_does_not_open_the_portal(client, person, staff):
    log_in(client, "tech")

    response = client.get("/me/")

    assert response.status_code == 302
    assert "/me/login" in response.headers["Location"]


def test_a_login_without_the_csrf_token_is_refused(client, person, clinic):
    response = client.post(login_path(clinic), data={"code": "P-0001", "pin": PIN})

    assert response.status_code == 400
    assert count(LoginAttempt) == 0


def spray(client, clinic_id: int, count: int, ip: str, first: int = 100):
    """One PIN tried against `count` different codes from one address."""
    for n in range(first, first + count):
        token = csrf_token(client, login_path(clinic_id))
        client.post(
            login_path(clinic_id),
            data={"code": f"X-{n:04d}", "pin": "284917", "csrf_token": token},
            environ_base={"REMOTE_ADDR": ip},
        )


def log_in_from(client, clinic_id: int, ip: str):
    token = csrf_token(client, login_path(clinic_id))
    return client.post(
        login_path(clinic_id),
        data={"code": "P-0001", "pin": PIN, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_a_pin_sprayed_over_many_codes_slows_that_address(app, client, person, clinic):
    # Issue 15, defect 6: lockout was per code only, so spraying one PIN across
    # many codes from one address was never slowed.
    spray(client, clinic.id, lockout.MAX_FAILURES_PER_SOURCE, "203.0.113.9")

    from_sprayer = log_in_from(client, clinic.id, "203.0.113.9")
    elsewhere = log_in_from(app.test_client(), clinic.id, "198.51.100.4")

    assert from_sprayer.status_code == 422
    assert "Too many tries" in from_sprayer.get_data(as_text=True)
    assert elsewhere.status_code == 302


def test_a_spray_from_many_addresses_slows_the_clinic_for_a_while(
    client, person, clinic, clock, monkeypatch
):
    monkeypatch.setattr(lockout, "MAX_FAILURES_PER_SCOPE", 30)
    for n in range(3):
        spray(client, clinic.id, 10, f"192.0.2.{n}", first=100 + 10 * n)

    refused = log_in_from(client, clinic.id, "198.51.100.4")
    clock.now += lockout.WINDOW + timedelta(minutes=1)
    later = log_in_from(client, clinic.id, "198.51.100.4")

    assert refused.status_code == 422
    assert later.status_code == 302
