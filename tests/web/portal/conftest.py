"""Portal fixtures: a participant with a PIN on the Higgins protocol, a client, and
the portal's clock pinned to the suite's NOW (views read it from access.now)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.clock import freeze
from tests.support.factories import NOW
from tests.support.portal import make_participant


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


@pytest.fixture
def person(staff, clinic):
    return make_participant(staff, clinic)
