"""Staff login step by step: the password step, TOTP codes at a given time, forms
posted with their CSRF token, and the key on the second-factor page."""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import User
from cm_service.services.access import totp
from tests.support.web import CSRF, csrf_token

PASSWORD = "correct horse battery"


def user_named(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def code_at(secret: str, at: datetime, steps_later: int = 0) -> str:
    return pyotp.TOTP(secret).generate_otp(totp.step_at(at) + steps_later)


def password_step(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/staff/login")
    return client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
    )


def post_form(client, path: str, data: dict, page: str | None = None):
    """POST `data` with the CSRF token read from `page` (default: `path`)."""
    text = client.get(page or path).get_data(as_text=True)
    token = CSRF.search(text).group(1)
    return client.post(path, data={**data, "csrf_token": token})


SECRET = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')


def secret_on(page: str) -> str:
    return "".join(SECRET.search(page).group(1).split())
