"""Staff web fixtures: a logged-in test client on a clock frozen at NOW."""

from __future__ import annotations

import pytest

from tests.support.factories import make_enrolled
from tests.support.web import log_in


@pytest.fixture(autouse=True)
def frozen_clock(clock):
    # NOW is Monday 2026-02-02, 14:00 in Chicago: a Higgins testing day.
    return clock


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def logged_in(client, staff):
    assert log_in(client, "tech").status_code == 302
    return client


@pytest.fixture
def person(staff, clinic):
    participant, _ = make_enrolled(staff, clinic)
    return participant
