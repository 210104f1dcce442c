"""Portal fixtures: a participant with a PIN on the Higgins protocol, a client, and
the portal's clock pinned to the suite's NOW (views read it from access.now)."""

from __future__ import annotations

from datetime import datetime

import pytest

from cm_service.extensions import db
from cm_service.models import Clinic
from cm_service.services.cm import participants
from tests.support.clock import freeze
from tests.support.factories import NOW, START, protocol_id
from tests.support.web import csrf_token

PIN = "246810"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(NOW)
    freeze(monkeypatch, clock)
    return clock


@pytest.fixture
def client(app, clock):
    return app.test_client()


def make_participant(staff, clinic, code: str = "P-0001", pin: str = PIN):
    person = participants.register_participant(staff, clinic.id, code, now=NOW, pin=pin)
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "higgins-1994"), START, now=NOW
    )
    return person


@pytest.fixture
def person(staff, clinic):
    return make_participant(staff, clinic)


def login_path(clinic: Clinic | int) -> str:
    """The clinic's own portal login: the link on a participant's card."""
    if not isinstance(clinic, Clinic):
        clinic = db.session.get(Clinic, clinic)
    return f"/me/{clinic.portal_slug}/login"


def portal_log_in(client, clinic: Clinic | int, code: str = "P-0001", pin: str = PIN):
    path = login_path(clinic)
    token = csrf_token(client, path)
    return client.post(path, data={"code": code, "pin": pin, "csrf_token": token})
