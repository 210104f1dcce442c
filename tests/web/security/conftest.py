"""Security fixtures: test clients, an admin, and one clock for the staff views (TOTP,
audit) and for the staff session timeouts, which a test moves instead of sleeping."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.clock import freeze
from tests.support.factories import NOW, make_staff


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
