"""A test client that behaves like a browser: it reads the CSRF token from the form."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from cm_service import clock
from cm_service.extensions import db
from cm_service.models import User
from cm_service.services.access import totp

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
ENROL = "/staff/account/second-factor"
CODE = "/staff/login/code"


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def totp_code(secret: str, last_step: int | None = None) -> str:
    """What an authenticator shows at the server's time (views._now, which tests may
    freeze); one step ahead if that step was used already (within valid_window 1)."""
    step = totp.step_at(clock.now())
    if last_step is not None and step <= last_step:
        step = last_step + 1
    return pyotp.TOTP(secret).generate_otp(step)


def log_in(client, username: str, password: str = "correct horse battery"):
    """Log in as a person would, with the second step when the account has one: an
    admin's first login sets up TOTP from the key on the page; later logins enter the
    current code."""
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
    )
    location = response.headers.get("Location", "")
    if location.endswith(ENROL):
        page = client.get(ENROL).get_data(as_text=True)
        secret = "".join(SECRET.search(page).group(1).split())
        return client.post(
            ENROL,
            data={"code": totp_code(secret), "csrf_token": CSRF.search(page).group(1)},
        )
    if location.endswith(CODE):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        return client.post(
            CODE,
            data={
                "code": totp_code(user.totp_secret, user.totp_last_step),
                "csrf_token": csrf_token(client, CODE),
            },
        )
    return response
