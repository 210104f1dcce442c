"""Security fixtures: test clients, an admin, and one clock for the staff views (TOTP,
audit) and for the staff session timeouts, which a test moves instead of sleeping."""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import User
from cm_service.services.access import totp
from tests.support.clock import freeze
from tests.support.factories import NOW, make_staff
from tests.support.web import CSRF, csrf_token

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(NOW)
    freeze(monkeypatch, clock)
    freeze(monkeypatch, clock)
    return clock


@pytest.fixture
def client(app, clock):
    return app.test_client()


@pytest.fixture
def other_client(app, clock):
    return app.test_client()


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", "admin")


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
