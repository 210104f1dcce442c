"""TOTP second factor: enrolment, login with a code, no replay, recovery codes,
throttling, admins required to enrol, and the secret kept out of logs and audit."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, LoginAttempt, RecoveryCode
from cm_service.services.access import totp
from tests.support.security import (
    PASSWORD,
    code_at,
    password_step,
    post_form,
    secret_on,
    user_named,
)
from tests.support.web import log_in

ENROL = "/staff/account/second-factor"
CODE = "/staff/login/code"


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def enrol_logged_in(client, clock) -> tuple[str, list[str]]:
    """A logged-in staff member turns TOTP on; returns the secret and recovery codes."""
    page = client.get(ENROL).get_data(as_text=True)
    secret = secret_on(page)
    response = post_form(client, ENROL, {"code": code_at(secret, clock.now)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f-]+)</code></li>", response.text)
    return secret, codes


@pytest.fixture
def enrolled(client, staff, clock):
    """tech, with TOTP on and logged out again."""
    assert log_in(client, "tech").status_code == 302
    secret, codes = enrol_logged_in(client, clock)
    post_form(client, "/staff/logout", {}, page="/staff/today")
    clock.now += timedelta(minutes=1)
    return secret, codes


def code_step(client, code: str):
    return post_form(client, CODE, {"code": code})


def test_enrolment_shows_the_key_and_needs_a_valid_code(client, staff, clock):
    log_in(client, "tech")
    page = client.get(ENROL).get_data(as_text=True)
    secret = secret_on(page)
    assert f"otpauth://totp/cm-service:tech%40Test%20Clinic?secret={secret}" in page
    assert user_named("tech").totp_secret is None

    wrong = post_form(client, ENROL, {"code": "000000"})

    assert wrong.status_code == 422
    assert user_named("tech").totp_secret is None
    ok = post_form(client, ENROL, {"code": code_at(secret, clock.now)})
    assert ok.status_code == 200
    assert ok.headers["Cache-Control"] == "no-store"
    assert ok.get_data(as_text=True).count("<li><code>") == 10
    assert user_named("tech").totp_secret == secret
    assert "totp_enrol_failed" in actions()
    assert "totp_enrolled" in actions()


def test_recovery_codes_are_stored_hashed(client, staff, clock, enrolled):
    _secret, codes = enrolled
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10
    assert all(h.startswith("$argon2id$") for h in stored)
    assert not set(codes) & set(stored)


def test_login_asks_for_the_code_after_the_password(client, staff, clock, enrolled):
    secret, _codes = enrolled

    response = password_step(client, "tech")

    assert response.location.endswith(CODE)
    assert client.get("/staff/today").status_code == 302  # not logged in yet
    response = code_step(client, code_at(secret, clock.now))
    assert response.status_code == 302
    assert response.location.endswith("/staff/today")
    assert actions()[-3:] == ["login_password_ok", "totp_ok", "login"]
    assert client.get("/staff/today").status_code == 200


def test_a_code_is_accepted_once(client, other_client, staff, clock, enrolled):
    secret, _codes = enrolled
    code = code_at(secret, clock.now)
    password_step(client, "tech")
    assert code_step(client, code).status_code == 302

    password_step(other_client, "tech")
    replay = code_step(other_client, code)

    assert replay.status_code == 422
    assert "did not work" in replay.get_data(as_text=True)
    assert "totp_failed" in actions()


def test_an_older_code_is_refused_after_a_newer_one(client, staff, clock, enrolled):
    secret, _codes = enrolled
    password_step(client, "tech")
    assert code_step(client, code_at(secret, clock.now, 1)).status_code == 302
    post_form(client, "/staff/logout", {}, page="/staff/today")

    password_step(client, "tech")

    assert code_step(client, code_at(secret, clock.now)).status_code == 422


@pytest.mark.parametrize(
    ("steps", "accepted"), [(-2, False), (-1, True), (1, True), (2, False)]
)
def test_one_step_of_clock_drift_is_allowed(
    client, staff, clock, enrolled, steps, accepted
):
    secret, _codes = enrolled
    password_step(client, "tech")

    response = code_step(client, code_at(secret, clock.now, steps))

    assert (response.status_code == 302) is accepted


def test_wrong_codes_count_towards_the_lockout(client, staff, clock, enrolled):
    secret, _codes = enrolled
    password_step(client, "tech")
    for _ in range(5):
        assert code_step(client, "123456").status_code == 422

    response = code_step(client, code_at(secret, clock.now))

    assert response.status_code == 422  # locked: even the right code fails
    assert password_step(client, "tech").status_code == 422
    failures = db.session.scalars(
        select(LoginAttempt).where(LoginAttempt.success.is_(False))
    ).all()
    assert len(failures) >= 6
    clock.now += timedelta(minutes=16)
    assert password_step(client, "tech").location.endswith(CODE)
    assert code_step(client, code_at(secret, clock.now)).status_code == 302


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(
    client, staff, clock, enrolled
):
    secret, _codes = enrolled
    for _ in range(5):
        password_step(client, "tech")
        code_step(client, "654321")

    password_step(client, "tech")

    assert code_step(client, code_at(secret, clock.now)).status_code == 422


def test_a_recovery_code_works_once(client, other_client, staff, clock, enrolled):
    _secret, codes = enrolled
    password_step(client, "tech")

    assert code_step(client, codes[3].upper()).status_code == 302

    password_step(other_client, "tech")
    assert code_step(other_client, codes[3]).status_code == 422
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "recovery_code_used")
    ).one()
    assert row.detail == {"left": 9}


def test_an_admin_without_totp_must_enrol_before_logging_in(client, admin, clock):
    response = password_step(client, "boss")

    assert response.location.endswith(ENROL)
    assert client.get("/staff/today").status_code == 302
    assert client.get("/staff/protocols").status_code == 302
    page = client.get(ENROL).get_data(as_text=True)
    assert "Admin accounts need a second factor" in page
    secret = secret_on(page)
    response = post_form(client, ENROL, {"code": code_at(secret, clock.now)})
    assert response.status_code == 200
    assert client.get("/staff/protocols").status_code == 200
    assert actions()[-3:] == ["login_password_ok", "totp_enrolled", "login"]


def test_a_logged_in_admin_without_totp_can_do_nothing_else(client, admin, clock):
    # E.g. a session from before the rule, or a role changed to admin.
    log_in(client, "boss")
    user = user_named("boss")
    user.totp_secret = None
    db.session.commit()

    for path in ("/staff/today", "/staff/protocols", "/ops/", "/staff/account/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.endswith(ENROL), path
    assert client.get(ENROL).status_code == 200


def test_an_admin_logs_in_with_a_code_after_enrolling(
    client, other_client, admin, clock
):
    log_in(client, "boss")
    secret = user_named("boss").totp_secret
    clock.now += timedelta(minutes=1)

    assert password_step(other_client, "boss").location.endswith(CODE)
    assert code_step(other_client, code_at(secret, clock.now)).status_code == 302
    assert other_client.get("/staff/protocols").status_code == 200


def test_staff_may_turn_totp_off_with_their_password(client, staff, clock, enrolled):
    secret, _codes = enrolled
    password_step(client, "tech")
    code_step(client, code_at(secret, clock.now))

    wrong = post_form(
        client,
        "/staff/account/second-factor/off",
        {"off-password": "nope"},
        page="/staff/account/",
    )
    assert wrong.status_code == 422
    response = post_form(
        client,
        "/staff/account/second-factor/off",
        {"off-password": PASSWORD},
        page="/staff/account/",
    )

    assert response.status_code == 302
    assert user_named("tech").totp_secret is None
    assert db.session.scalars(select(RecoveryCode)).all() == []
    assert "totp_disabled" in actions()


def test_admins_cannot_turn_totp_off(client, admin, clock):
    log_in(client, "boss")

    response = post_form(
        client,
        "/staff/account/second-factor/off",
        {"off-password": PASSWORD},
        page="/staff/account/",
    )

    assert response.status_code == 422
    assert user_named("boss").totp_secret is not None


def test_new_recovery_codes_replace_the_old(client, staff, clock, enrolled):
    secret, old = enrolled
    password_step(client, "tech")
    code_step(client, code_at(secret, clock.now))

    response = post_form(
        client,
        "/staff/account/recovery-codes",
        {"codes-password": PASSWORD},
        page="/staff/account/",
    )

    assert response.status_code == 200
    post_form(client, "/staff/logout", {}, page="/staff/today")
    password_step(client, "tech")
    assert code_step(client, old[0]).status_code == 422


def test_the_secret_is_never_in_the_audit_log_or_the_logs(client, staff, clock, caplog):
    caplog.set_level(logging.DEBUG)
    log_in(client, "tech")
    secret, _codes = enrol_logged_in(client, clock)
    post_form(client, "/staff/logout", {}, page="/staff/today")
    password_step(client, "tech")
    code_step(client, "000000")
    code_step(client, code_at(secret, clock.now, 1))

    rows = db.session.scalars(select(AuditLog)).all()
    dumped = json.dumps([[r.action, r.detail] for r in rows])
    assert secret not in dumped
    assert secret not in caplog.text
    assert {"totp_enrolled", "totp_failed", "totp_ok", "login"} <= {
        r.action for r in rows
    }


def test_the_enrolment_key_is_not_in_the_session_cookie(client, staff, clock):
    log_in(client, "tech")
    page = client.get(ENROL).get_data(as_text=True)
    secret = secret_on(page)
    with client.session_transaction() as session:
        assert secret not in json.dumps(dict(session))


def test_the_secret_matches_rfc_6238_at_a_known_time(clock):
    # RFC 6238 appendix B (SHA-1), truncated to 6 digits: T=59 s -> 94287082.
    import base64
    from datetime import UTC, datetime

    secret = base64.b32encode(b"12345678901234567890").decode()
    at = datetime.fromtimestamp(59, UTC)
    assert code_at(secret, at) == "287082"
    assert totp.step_at(at) == 1
