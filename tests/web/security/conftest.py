"""Security fixtures: test clients, an admin, and one clock for the staff views (TOTP,
audit) and for the staff session timeouts, which a test moves instead of sleeping."""

from __future__ import annotations

import pytest

from tests.support.factories import make_staff


@pytest.fixture
def client(app, clock):
    return app.test_client()


@pytest.fixture
def other_client(app, clock):
    return app.test_client()


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", "admin")
