"""Portal fixtures: a participant with a PIN on the Higgins protocol, a client, and
the portal's clock pinned to the suite's NOW (views read it from access.now)."""

from __future__ import annotations

import pytest

from tests.support.portal import make_participant


@pytest.fixture
def client(app, clock):
    return app.test_client()


@pytest.fixture
def person(staff, clinic):
    return make_participant(staff, clinic)
